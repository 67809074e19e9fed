import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Under CI a JSON report too, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env["CI"] ? ["default", ["json", { outputFile: ".ci/results/vitest.json" }]] : ["default"],
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // A floor, not a target: it catches a change that leaves whole paths untested.
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      // The CLI runs as a child process in its tests, out of the coverage tool's sight.
      exclude: ["src/cli/**"],
      reporter: ["text-summary"],
      thresholds: { lines: 85, statements: 85, functions: 85, branches: 75 },
    },
    // Under CI a JSON report too, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env["CI"] ? ["default", ["json", { outputFile: ".ci/results/vitest.json" }]] : ["default"],
  },
});

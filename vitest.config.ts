import { defineConfig } from "vitest/config";

/**
 * The suite in lanes (vitest projects), so a developer can run a fast one:
 *   npx vitest run --project unit            pure functions, the memory transport, property tests (seconds)
 *   npx vitest run --project conformance     the seam and bus suites on every transport, real brokers
 *   npx vitest --project unit --project runtime   while working on the runtime
 * `npm test` runs every project.
 */
const lane = (name: string, include: string[]) => ({ extends: true as const, test: { name, include } });

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two files at a time outside the fault lane (vitest's default is cores - 1: one on this 2-core machine).
    // The tests mostly wait on brokers and timers, so a second file nearly halves the wall time; the fault
    // lane stays one file at a time (below). MISSIVE_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env["MISSIVE_TEST_WORKERS"] ?? 2),
    projects: [
      lane("unit", ["test/unit/**/*.test.ts", "src/**/*.test.ts", "test/property/**/*.test.ts"]),
      lane("runtime", ["test/runtime/**/*.test.ts", "test/stores/**/*.test.ts"]),
      lane("conformance", ["test/conformance/**/*.test.ts"]),
      lane("transports", ["test/transports/**/*.test.ts"]),
      lane("cli", ["test/cli/**/*.test.ts", "test/examples/**/*.test.ts", "test/bench/**/*.test.ts"]),
      // Fault tests start broker processes and clusters of their own and kill them: run last, one file at a time, so
      // one file's 3-node cluster does not slow another's broker restart past the timeouts under test.
      { extends: true as const, test: { name: "faults", include: ["test/faults/**/*.test.ts"], fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1 } } },
      lane("dashboard", ["test/dashboard/**/*.test.ts"]),
    ],
    // A floor, not a target: it catches a change that leaves whole paths untested.
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      // The CLI runs as a child process in its tests, out of the coverage tool's sight.
      exclude: ["src/cli/**", "src/**/*.test.ts"],
      reporter: ["text-summary"],
      thresholds: { lines: 85, statements: 85, functions: 85, branches: 75 },
    },
    // Under CI a JSON report too, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env["CI"] ? ["default", ["json", { outputFile: ".ci/results/vitest.json" }]] : ["default"],
  },
});

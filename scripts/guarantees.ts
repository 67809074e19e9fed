/**
 * `npm run guarantees`: writes docs/guarantees.md from the names of the
 * conformance, transport and fault tests (listed, not run).
 *
 *   npx tsx scripts/guarantees.ts [--check] [--tests PATH]
 *
 * `--check` writes nothing and exits 1 when docs/guarantees.md is not what
 * the tests say (test/cli/guarantees.test.ts runs it, so CI fails on a stale
 * matrix). `--tests PATH` reads the tests from a `vitest list --json=PATH`
 * file of the conformance, transports and faults projects instead of listing
 * them (listing imports every test file: a minute or more on two cores).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectTests, readListedTests } from "./guarantees/collect.js";
import { renderGuarantees } from "./guarantees/render.js";

const root = join(import.meta.dirname, "..");
const docPath = join(root, "docs", "guarantees.md");
const testsAt = process.argv.indexOf("--tests");
const tests = testsAt < 0 ? collectTests(root) : readListedTests(root, process.argv[testsAt + 1] ?? "");
const text = renderGuarantees(tests);
let current: string | null;
try {
  current = readFileSync(docPath, "utf8");
} catch {
  // No doc yet: stale in check mode, written otherwise.
  current = null;
}
if (process.argv.includes("--check")) {
  if (current !== text) {
    process.stderr.write("docs/guarantees.md is stale: run `npm run guarantees` and commit the result\n");
    process.exit(1);
  }
  process.stdout.write("docs/guarantees.md is up to date\n");
} else {
  if (current !== text) writeFileSync(docPath, text);
  process.stdout.write("docs/guarantees.md written\n");
}

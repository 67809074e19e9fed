/**
 * Writes docs/performance.md from bench/results/latest.json (`npm run bench`
 * does this after every run that writes latest.json).
 *
 *   npx tsx bench/performance-doc.ts [--check] [--results PATH] [--doc PATH]
 *
 * `--check` writes nothing and exits 1 when the doc does not say exactly what
 * the results say (test/bench/performance-doc.test.ts runs it).
 */
import { resolve } from "node:path";
import { DEFAULT_DOC, DEFAULT_RESULTS, syncPerformanceDoc } from "./lib/performance-doc.js";

const argv = process.argv.slice(2);
const option = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
};
const results = resolve(option("--results") ?? DEFAULT_RESULTS);
const doc = resolve(option("--doc") ?? DEFAULT_DOC);
const check = argv.includes("--check");
const { upToDate } = syncPerformanceDoc(results, doc, check);
if (check && !upToDate) {
  process.stderr.write(`${doc} does not match ${results}: run \`npx tsx bench/performance-doc.ts\` and commit the result\n`);
  process.exit(1);
}
process.stdout.write(check ? `${doc} matches ${results}\n` : `${doc} written from ${results}\n`);

/**
 * Where the time went in a V8 .cpuprofile (from `node --cpu-prof`): self time
 * by function and by file, in % of the samples, the idle/GC/program buckets
 * apart. Native calls (better-sqlite3's run/all, i.e. SQLite and its fsync)
 * show up under the JS function that called them.
 *
 *   npx tsx bench/tools/cpuprofile-summary.ts FILE.cpuprofile [top=40]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: cpuprofile-summary FILE.cpuprofile [top]");
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

const short = (url: string): string => url.replace(/^.*\/(node_modules\/)/, "$1").replace(/^file:\/\/.*?\/(src|bench)\//, "$1/").replace(/^node:/, "node:");
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const key = `${f.functionName || "(anonymous)"}  ${short(f.url)}:${f.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const fileKey = f.url ? short(f.url) : f.functionName;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
}
const pct = (us: number): string => ((100 * us) / total).toFixed(1).padStart(5) + "%";
const print = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
};
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms sampled\n`);
print("self time by file", byFile);
print("self time by function", byFn);

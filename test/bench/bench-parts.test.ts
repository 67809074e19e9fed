/**
 * The bench's plumbing around the measurements: a failed part is recorded and
 * the run goes on; children run the compiled missive when dist/ is fresh, and
 * the results say which code ran.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HOOK, staleSource } from "../../bench/lib/compiled-missive.js";
import { partRunner } from "../../bench/lib/parts.js";
import { renderPerformanceDoc } from "../../bench/lib/performance-doc.js";
import { emptyRow, type Row } from "../../bench/lib/results.js";
import { collectRunInfo, finishRunInfo, type BenchFailure } from "../../bench/lib/run-info.js";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "missive-bench-parts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench parts", () => {
  it("bench parts - a part that throws is recorded with its error's first line, and the parts after it still run", async () => {
    const rows: Row[] = [];
    const summary: string[] = [];
    const failures: BenchFailure[] = [];
    const logged: string[] = [];
    const part = partRunner(rows, summary, failures, (line) => logged.push(line));
    await part("first", () => Promise.resolve({ rows: [emptyRow("sqlite", "a")], summary: ["s1"] }));
    await part("broken", () => Promise.reject(new Error("bench case nats-raw did not finish within 60000 ms\nsecond line")));
    await part("third", () => Promise.resolve({ rows: [emptyRow("redis", "b")] }));
    expect(rows.map((r) => r.case)).toEqual(["a", "b"]);
    expect(summary).toEqual(["s1"]);
    expect(failures).toEqual([{ part: "broken", error: "bench case nats-raw did not finish within 60000 ms" }]);
    expect(logged.some((l) => l.startsWith("FAILED: broken: "))).toBe(true);
  });

  it("bench parts - docs/performance.md lists the failed parts and which code the children ran", () => {
    const run = finishRunInfo({ ...collectRunInfo([]), missive_code: "src", missive_code_reason: "dist/ is older than src/x.ts" }, [{ part: "postgres", error: "boom" }]);
    const doc = renderPerformanceDoc({ run, rows: [emptyRow("sqlite", "consume+ack")] }, "latest.json");
    expect(doc).toContain("## Parts of the run that failed");
    expect(doc).toContain("- postgres: boom");
    expect(doc).toContain("- missive ran from: src/ under tsx (dist/ is older than src/x.ts)");
    const clean = renderPerformanceDoc({ run: { ...run, missive_code: "dist", failures: [] }, rows: [] }, "latest.json");
    expect(clean).not.toContain("Parts of the run that failed");
    expect(clean).toContain("- missive ran from: dist/ (compiled, as a user runs it)");
  });

  it("bench parts - dist/ is stale when missing, when a source is newer than its output, and fresh otherwise", () => {
    const src = join(dir, "src");
    const dist = join(dir, "dist");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "sub", "a.ts"), "export {};\n");
    writeFileSync(join(src, "sub", "a.test.ts"), "export {};\n");
    expect(staleSource(src, dist)).toBe("dist/ (not built)");
    mkdirSync(join(dist, "sub"), { recursive: true });
    expect(staleSource(src, dist)).toMatch(/sub\/a\.ts$/);
    writeFileSync(join(dist, "sub", "a.js"), "export {};\n");
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(src, "sub", "a.ts"), past, past);
    // The test file has no output and needs none.
    expect(staleSource(src, dist)).toBeUndefined();
    utimesSync(join(dist, "sub", "a.js"), new Date(past.getTime() - 60_000), new Date(past.getTime() - 60_000));
    expect(staleSource(src, dist)).toMatch(/sub\/a\.ts$/);
  });

  it("bench parts - with the hook, an import of a file under src/ loads its compiled twin under dist/", async () => {
    const probe = join(dir, "probe.mts");
    // import.meta.resolve runs the registered resolve hooks, as an import would.
    writeFileSync(probe, `process.stdout.write(import.meta.resolve(${JSON.stringify(join(root, "src", "errors.js"))}));\n`);
    const run = (hook: boolean): Promise<string> =>
      new Promise((done, fail) => {
        execFile(process.execPath, ["--import", "tsx", ...(hook ? ["--import", HOOK] : []), probe], { cwd: root, timeout: 30_000 }, (err, stdout) => (err ? fail(err) : done(stdout)));
      });
    expect(await run(false)).toMatch(/\/src\/errors\.ts$/);
    expect(await run(true)).toMatch(/\/dist\/errors\.js$/);
  });
});

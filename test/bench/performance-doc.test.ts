/**
 * docs/performance.md is the one place figures live: generated from
 * bench/results/latest.json, in step with it, carrying every figure of every
 * row; README.md and the docs link to it and quote none.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXPECTED_ROWS } from "../../bench/lib/expected-rows.js";
import { renderPerformanceDoc } from "../../bench/lib/performance-doc.js";
import { readResults, type Row } from "../../bench/lib/results.js";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "missive-perf-doc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runGenerator(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ["--import", "tsx", join("bench", "performance-doc.ts"), ...args], { cwd: root, timeout: 60_000 }, (err, _stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

/** Every number in a row, as the JSON writes it. */
function figures(value: unknown): string[] {
  if (typeof value === "number") return [JSON.stringify(value)];
  if (Array.isArray(value)) return value.flatMap(figures);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(figures);
  return [];
}

/** A quoted performance figure: a rate, CPU per message, a ratio, a size in MB, a percentile in ms. */
const FIGURE = /\d[\d,.]*\s*(k\s*)?msgs?\/s|\d\s*µs|\d\s*×|\d\.\d+x\b|\d\s*MB\b|\d\s*MiB\s+(in|at|peak|of RSS)|p(50|99)[^.\n]*\d\s*ms\b/;

function userDocs(): string[] {
  const md = (sub: string): string[] => readdirSync(join(root, sub)).filter((f) => f.endsWith(".md")).map((f) => join(sub, f));
  return ["README.md", ...md("docs"), ...md("docs/transports")].filter((f) => f !== join("docs", "performance.md"));
}

describe("performance doc", () => {
  it("performance doc - docs/performance.md says exactly what bench/results/latest.json says (npx tsx bench/performance-doc.ts --check)", async () => {
    const r = await runGenerator(["--check"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("performance doc - the check fails when a figure in the results changes", async () => {
    const results = readResults(join(root, "bench", "results", "latest.json"));
    const changed = { run: results.run, rows: results.rows.map((row, i): Row => (i === 0 ? { ...row, msgs_per_s: (row.msgs_per_s ?? 0) + 1 } : row)) };
    const resultsPath = join(dir, "latest.json");
    const docPath = join(dir, "performance.md");
    writeFileSync(resultsPath, JSON.stringify(results));
    expect((await runGenerator(["--results", resultsPath, "--doc", docPath])).code).toBe(0);
    expect((await runGenerator(["--check", "--results", resultsPath, "--doc", docPath])).code).toBe(0);
    writeFileSync(resultsPath, JSON.stringify(changed));
    const stale = await runGenerator(["--check", "--results", resultsPath, "--doc", docPath]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("does not match");
  });

  it("performance doc - every figure of every row is in the doc, and a row a full run writes but the results lack is named", () => {
    const results = readResults(join(root, "bench", "results", "latest.json"));
    const doc = renderPerformanceDoc({ run: null, rows: results.rows.slice(1) }, "latest.json");
    for (const row of results.rows.slice(1)) {
      expect(doc).toContain(row.case.replaceAll("|", "\\|"));
      for (const n of figures(row)) expect(doc, `${row.case}: ${n}`).toContain(n);
    }
    expect(doc).toContain("## Rows this file lacks");
    expect(doc).toContain(`- ${EXPECTED_ROWS[0]!.transport}: ${EXPECTED_ROWS[0]!.label}`);
    expect(doc).toContain("Not recorded");
  });

  it("performance doc - a run says which files it measured uncommitted, and when the tree moved while it ran", () => {
    const results = readResults(join(root, "bench", "results", "latest.json"));
    const machine = { cpu: "x", cores: 2, memory_gb: 1, os: "linux", node: "v20" };
    const base = { date: "2026-12-07T12:00:00.000Z", started: "2026-12-07T11:30:00.000Z", commit: "abc1234", machine, args: [] };
    const clean = renderPerformanceDoc({ run: { ...base, dirty: false, uncommitted: [], changed_during_run: false }, rows: results.rows }, "latest.json");
    expect(clean).toContain("- commit: abc1234\n");
    expect(clean).toContain("- date: 2026-12-07T11:30:00.000Z to 2026-12-07T12:00:00.000Z");
    const dirty = renderPerformanceDoc({ run: { ...base, dirty: true, uncommitted: ["src/a.ts", "test/b.ts"], changed_during_run: true }, rows: results.rows }, "latest.json");
    expect(dirty).toContain("- commit: abc1234 with uncommitted changes to `src/a.ts`, `test/b.ts` (the tree changed while the run went on)");
  });

  it("performance doc - a transport whose rows have a further peer gains that peer's columns, with its figures; other tables do not", () => {
    const results = readResults(join(root, "bench", "results", "latest.json"));
    const pgRow = results.rows.find((r) => r.transport === "postgres" && r.case.startsWith("publish,"))!;
    const withBullmq: Row = {
      ...pgRow,
      more_peers: [{ name: "bullmq-pg", peer: "BullMQ (PostgreSQL) Queue.add, 64 concurrent callers", peer_msgs_per_s: 587, peer_ratio: 12.34, peer_p50_ms: null, peer_p99_ms: null }],
    };
    const doc = renderPerformanceDoc({ run: null, rows: results.rows.map((r) => (r === pgRow ? withBullmq : r)) }, "latest.json");
    const header = (title: string): string => doc.split(`## ${title}\n\n`)[1]!.split("\n")[0]!;
    expect(header("PostgreSQL")).toContain("| peer p50 / p99 ms | bullmq-pg | bullmq-pg msg/s | missive/bullmq-pg | bullmq-pg p50 / p99 ms |");
    expect(header("SQLite")).not.toContain("bullmq-pg");
    const line = doc.split("\n").find((l) => l.startsWith(`| ${pgRow.case} |`))!;
    expect(line).toContain("| BullMQ (PostgreSQL) Queue.add, 64 concurrent callers | 587 | 12.34 | – |");
    // Every row of that table has the same number of cells as its header.
    const cells = (l: string): number => l.split(" | ").length;
    for (const l of doc.split("## PostgreSQL\n\n")[1]!.split("\n\n")[0]!.split("\n")) expect(cells(l), l).toBe(cells(header("PostgreSQL")));
  });

  it("performance doc - README.md and docs/*.md quote no throughput or latency figure; README names docs/performance.md", () => {
    const quoted: string[] = [];
    for (const file of userDocs()) {
      readFileSync(join(root, file), "utf8").split("\n").forEach((line, i) => {
        if (FIGURE.test(line)) quoted.push(`${file}:${i + 1}: ${line}`);
      });
    }
    expect(quoted).toEqual([]);
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain("`docs/performance.md`");
  });
});

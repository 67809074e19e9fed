/**
 * docs/performance.md, rendered from a results file and nothing else: the
 * run (date, commit, machine, arguments), every row with every figure as the
 * JSON has it, and the rows a full run writes that the file lacks. Other docs
 * link to it instead of quoting numbers, so a figure a user reads is one a
 * committed run measured.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { EXPECTED_ROWS, matchesExpected } from "./expected-rows.js";
import { morePeerNames, readResults, type Results, type Row } from "./results.js";
import type { RunInfo } from "./run-info.js";

const repoRoot = join(import.meta.dirname, "..", "..");
export const DEFAULT_RESULTS = join(repoRoot, "bench", "results", "latest.json");
export const DEFAULT_DOC = join(repoRoot, "docs", "performance.md");

const TITLES: Record<string, string> = { sqlite: "SQLite", rabbitmq: "RabbitMQ", nats: "NATS JetStream", postgres: "PostgreSQL", redis: "Redis Streams", memory: "memory" };

const show = (v: unknown): string => (v === null || v === undefined ? "–" : typeof v === "string" ? v : JSON.stringify(v));
/** A table cell: pipes in a case name would split the cell. */
const cell = (v: unknown): string => show(v).replaceAll("|", "\\|");

/** Which uncommitted files the measured tree held, and whether the tree moved while the run went on. */
function uncommittedNote(run: RunInfo): string {
  const files = run.uncommitted;
  const held = !run.dirty ? "" : files === undefined || files.length === 0 ? " with uncommitted changes" : ` with uncommitted changes to ${files.map((f) => `\`${f}\``).join(", ")}`;
  return run.changed_during_run ? `${held} (the tree changed while the run went on)` : held;
}

function runSection(results: Results, resultsName: string): string[] {
  const run = results.run;
  if (run === null) {
    return [
      `Not recorded: \`${resultsName}\` predates the run metadata (a bare array of rows), so its date,`,
      "commit and machine are unknown. The next `npm run bench` records them.",
    ];
  }
  const m = run.machine;
  return [
    `- date: ${run.started === undefined ? run.date : `${run.started} to ${run.date}`}`,
    `- commit: ${run.commit ?? "unknown (not a git checkout)"}${uncommittedNote(run)}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, ${m.os}, Node ${m.node}`,
    `- command: \`npm run bench${run.args.length > 0 ? ` -- ${run.args.join(" ")}` : ""}\``,
    ...(run.missive_code === undefined ? [] : [`- missive ran from: ${run.missive_code === "dist" ? "dist/ (compiled, as a user runs it)" : `src/ under tsx (${run.missive_code_reason ?? "dist/ was stale"})`}`]),
  ];
}

const latencyPair = (p50: number | null, p99: number | null): string => (p50 === null && p99 === null ? "–" : `${show(p50)} / ${show(p99)}`);

/** A transport's table; each further peer its rows have (`more_peers`) adds the first peer's four columns under its name. */
function table(rows: readonly Row[]): string[] {
  const more = morePeerNames(rows);
  const header = [
    "case", "missive msg/s", "raw msg/s", "missive/raw", "p50 ms", "p99 ms", "peak RSS MB", "CPU µs/msg (missive / raw)",
    "peer", "peer msg/s", "missive/peer", "peer p50 / p99 ms",
    ...more.flatMap((name) => [name, `${name} msg/s`, `missive/${name}`, `${name} p50 / p99 ms`]),
  ];
  const out = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const r of rows) {
    const cpu = r.notes["cpu_us_per_msg"] === undefined ? "–" : `${show(r.notes["cpu_us_per_msg"])} / ${show(r.notes["raw_cpu_us_per_msg"])}`;
    const others = more.flatMap((name) => {
      const x = r.more_peers?.find((m) => m.name === name);
      return x === undefined ? [null, null, null, "–"] : [x.peer, x.peer_msgs_per_s, x.peer_ratio, latencyPair(x.peer_p50_ms, x.peer_p99_ms)];
    });
    out.push(
      `| ${[r.case, r.msgs_per_s, r.raw_msgs_per_s, r.ratio, r.p50_ms, r.p99_ms, r.rss_mb, cpu, r.peer, r.peer_msgs_per_s, r.peer_ratio, latencyPair(r.peer_p50_ms, r.peer_p99_ms), ...others].map(cell).join(" | ")} |`,
    );
  }
  return out;
}

function details(r: Row): string[] {
  const out = [`#### ${r.transport}: ${r.case}`, ""];
  for (const [k, v] of Object.entries(r.notes)) out.push(`- ${k}: ${show(v)}`);
  for (const [k, v] of Object.entries(r.runs)) out.push(`- every round's ${k}: ${show(v)}`);
  if (Object.keys(r.notes).length === 0 && Object.keys(r.runs).length === 0) out.push("- (no notes, a single measurement)");
  out.push("");
  return out;
}

export function renderPerformanceDoc(results: Results, resultsName: string): string {
  const missing = EXPECTED_ROWS.filter((e) => !results.rows.some((r) => matchesExpected(r, e)));
  const transports = [...new Set(results.rows.map((r) => r.transport))];
  const lines = [
    "# Performance",
    "",
    `<!-- Generated from ${resultsName} by \`npx tsx bench/performance-doc.ts\` (\`npm run bench\` runs it). Do not edit: test/bench/performance-doc.test.ts fails when this file and the results disagree. -->`,
    "",
    "What `npm run bench` measured in the run whose results are committed: missive",
    "against the raw client doing the same durable work and against a well-known",
    "peer, in the same run on the same machine. How each case is measured, and",
    "what the raw client and the peer do: [bench/README.md](../bench/README.md).",
    "Ratios are missive ÷ the other side, medians of the per-round ratios; on a",
    "shared machine they and the CPU per message are steadier than the rates.",
    "Latency rows measure each side after a warm-up at the same rate that is not",
    "measured (2 s in a full run; bench/lib/latency.ts says why). A dash is a",
    "figure the case does not have.",
    "",
    "## The run",
    "",
    ...runSection(results, resultsName),
    "",
  ];
  const failures = results.run?.failures ?? [];
  if (failures.length > 0) {
    lines.push("## Parts of the run that failed", "", "Their rows are missing below; the error each ended with:", "", ...failures.map((f) => `- ${f.part}: ${f.error}`), "");
  }
  if (missing.length > 0) {
    lines.push(
      "## Rows this file lacks",
      "",
      `A full run writes these rows; \`${resultsName}\` has none of them, so nothing here speaks for them:`,
      "",
      ...missing.map((e) => `- ${e.transport}: ${e.label}`),
      "",
    );
  }
  for (const t of transports) {
    const rows = results.rows.filter((r) => r.transport === t);
    lines.push(`## ${TITLES[t] ?? t}`, "", ...table(rows), "", "### Every figure of each row", "");
    for (const r of rows) lines.push(...details(r));
  }
  return lines.join("\n").replace(/\n+$/, "\n");
}

/** Renders `docPath` from `resultsPath`; with `check`, returns whether the file on disk already says exactly that. */
export function syncPerformanceDoc(resultsPath = DEFAULT_RESULTS, docPath = DEFAULT_DOC, check = false): { upToDate: boolean } {
  const text = renderPerformanceDoc(readResults(resultsPath), relative(repoRoot, resultsPath).replaceAll("\\", "/"));
  let current: string | null;
  try {
    current = readFileSync(docPath, "utf8");
  } catch {
    // No doc yet: stale in check mode, written otherwise.
    current = null;
  }
  if (check) return { upToDate: current === text };
  if (current !== text) writeFileSync(docPath, text);
  return { upToDate: true };
}

/** The table printed at the end of a run: medians with the [min–max] over rounds. */
import type { Row } from "./results.js";

function range(values: readonly number[] | undefined, digits = 0): string {
  if (!values || values.length < 2) return "";
  const f = (x: number): string => (digits === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits));
  return ` [${f(Math.min(...values))}–${f(Math.max(...values))}]`;
}

function num(x: number | null, digits = 0): string {
  if (x === null) return "–";
  return digits === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
}

export function formatTable(rows: readonly Row[]): string {
  const header = ["case", "missive msg/s", "raw msg/s", "missive/raw", "peer msg/s", "missive/peer", "p50 ms", "p99 ms", "peak RSS MB"];
  const body = rows.map((r) => [
    `${r.transport}: ${r.case}`,
    num(r.msgs_per_s) + range(r.runs["msgs_per_s"]),
    num(r.raw_msgs_per_s) + range(r.runs["raw_msgs_per_s"]),
    num(r.ratio, 2) + range(r.runs["ratio"], 2),
    r.peer === null ? "–" : num(r.peer_msgs_per_s) + range(r.runs["peer_msgs_per_s"]),
    num(r.peer_ratio, 2) + range(r.runs["peer_ratio"], 2),
    r.p50_ms === null ? "–" : `${num(r.p50_ms, 2)}${r.peer_p50_ms !== null ? ` (peer ${num(r.peer_p50_ms, 2)})` : ""}`,
    r.p99_ms === null ? "–" : `${num(r.p99_ms, 2)}${r.peer_p99_ms !== null ? ` (peer ${num(r.peer_p99_ms, 2)})` : ""}`,
    num(r.rss_mb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

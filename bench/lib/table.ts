/** The table printed at the end of a run: medians with the [min–max] over rounds. */
import { morePeerKey, morePeerNames, type Row } from "./results.js";

function range(values: readonly number[] | undefined, digits = 0): string {
  if (!values || values.length < 2) return "";
  const f = (x: number): string => (digits === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits));
  return ` [${f(Math.min(...values))}–${f(Math.max(...values))}]`;
}

function num(x: number | null, digits = 0): string {
  if (x === null) return "–";
  return digits === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
}

/** `ms` of the row's own side, then each peer's in parentheses. */
function latencyCell(own: number | null, peers: ReadonlyArray<readonly [string, number | null]>): string {
  if (own === null) return "–";
  const others = peers.filter(([, ms]) => ms !== null).map(([name, ms]) => `${name} ${num(ms, 2)}`);
  return `${num(own, 2)}${others.length > 0 ? ` (${others.join(", ")})` : ""}`;
}

/** The table; each further peer any row has (`more_peers`) adds its rate and ratio columns after the first peer's. */
export function formatTable(rows: readonly Row[]): string {
  const more = morePeerNames(rows);
  const header = [
    "case", "missive msg/s", "raw msg/s", "missive/raw", "peer msg/s", "missive/peer",
    ...more.flatMap((name) => [`${name} msg/s`, `missive/${name}`]),
    "p50 ms", "p99 ms", "peak RSS MB",
  ];
  const body = rows.map((r) => {
    const others = more.map((name) => [name, r.more_peers?.find((x) => x.name === name)] as const);
    return [
      `${r.transport}: ${r.case}`,
      num(r.msgs_per_s) + range(r.runs["msgs_per_s"]),
      num(r.raw_msgs_per_s) + range(r.runs["raw_msgs_per_s"]),
      num(r.ratio, 2) + range(r.runs["ratio"], 2),
      r.peer === null ? "–" : num(r.peer_msgs_per_s) + range(r.runs["peer_msgs_per_s"]),
      num(r.peer_ratio, 2) + range(r.runs["peer_ratio"], 2),
      ...others.flatMap(([name, x]) => [
        x === undefined ? "–" : num(x.peer_msgs_per_s) + range(r.runs[`${morePeerKey(name)}msgs_per_s`]),
        x === undefined ? "–" : num(x.peer_ratio, 2) + range(r.runs[`${morePeerKey(name)}ratio`], 2),
      ]),
      latencyCell(r.p50_ms, [["peer", r.peer_p50_ms], ...others.map(([name, x]) => [name, x?.peer_p50_ms ?? null] as const)]),
      latencyCell(r.p99_ms, [["peer", r.peer_p99_ms], ...others.map(([name, x]) => [name, x?.peer_p99_ms ?? null] as const)]),
      num(r.rss_mb),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

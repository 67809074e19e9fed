/**
 * The rows of bench/results/latest.json: one object per case. Throughput
 * figures are medians over the rounds (each round measures missive, the raw
 * client and the peer back to back, so ratios are taken within a round);
 * `runs` keeps every round's figure, so a reader sees the spread.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { RunInfo } from "./run-info.js";

export interface Row {
  transport: string;
  case: string;
  msgs_per_s: number | null;
  raw_msgs_per_s: number | null;
  /** missive ÷ raw client, median of the per-round ratios. */
  ratio: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  /** Peak RSS of the process running missive's side of the case, MB. */
  rss_mb: number | null;
  peer: string | null;
  peer_msgs_per_s: number | null;
  /** missive ÷ peer, median of the per-round ratios. */
  peer_ratio: number | null;
  peer_p50_ms: number | null;
  peer_p99_ms: number | null;
  /** Every round's figures, and anything case-specific (RSS through a drain, settings). */
  runs: Record<string, number[]>;
  notes: Record<string, string | number | boolean | null>;
  /**
   * Peers measured beside the first (`peer` …) in the same rounds (PostgreSQL: BullMQ's PostgreSQL backend beside
   * pg-boss). Absent when there are none, and in files written before a row could have more than one peer.
   */
  more_peers?: MorePeer[];
}

/** A further peer's figures on a row: the same fields as the row's first peer, under a short name of its own. */
export interface MorePeer {
  /** Short name: the table's column headers (`missive/<name>`) and the prefix of its keys in `runs` and `notes`. */
  name: string;
  /** What the peer does in this case. */
  peer: string;
  peer_msgs_per_s: number | null;
  /** missive ÷ this peer, median of the per-round ratios. */
  peer_ratio: number | null;
  peer_p50_ms: number | null;
  peer_p99_ms: number | null;
}

/** The prefix of a further peer's keys in a row's `runs` and `notes` (`bullmq-pg` → `bullmq_pg_`). */
export function morePeerKey(name: string): string {
  return `${name.replaceAll("-", "_")}_`;
}

/** The further peer `name` of `row`, added empty when the row lacks it. */
export function morePeer(row: Row, name: string, label: string): MorePeer {
  const list = (row.more_peers ??= []);
  let found = list.find((x) => x.name === name);
  if (!found) {
    found = { name, peer: label, peer_msgs_per_s: null, peer_ratio: null, peer_p50_ms: null, peer_p99_ms: null };
    list.push(found);
  }
  return found;
}

/** The names of the further peers of `rows`, in the order they first appear. */
export function morePeerNames(rows: readonly Row[]): string[] {
  return [...new Set(rows.flatMap((r) => (r.more_peers ?? []).map((x) => x.name)))];
}

export function emptyRow(transport: string, name: string): Row {
  return {
    transport, case: name, msgs_per_s: null, raw_msgs_per_s: null, ratio: null, p50_ms: null, p99_ms: null, rss_mb: null,
    peer: null, peer_msgs_per_s: null, peer_ratio: null, peer_p50_ms: null, peer_p99_ms: null, runs: {}, notes: {},
  };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function ratios(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) out.push(round2(a[i]! / b[i]!));
  return out;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function roundInt(x: number | null): number | null {
  return x === null ? null : Math.round(x);
}

/** A results file: the run (machine, date, commit, arguments) and its rows. */
export interface Results {
  /** Null in a file written before runs were recorded (a bare array of rows). */
  readonly run: RunInfo | null;
  readonly rows: readonly Row[];
}

export function writeResults(path: string, rows: readonly Row[], run: RunInfo): void {
  mkdirSync(dirname(path), { recursive: true });
  const results: Results = { run, rows };
  writeFileSync(path, JSON.stringify(results, null, 2) + "\n");
}

/** Reads a results file, either shape: `{ run, rows }` or the older bare array of rows. */
export function readResults(path: string): Results {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Results | Row[];
  return Array.isArray(parsed) ? { run: null, rows: parsed } : parsed;
}

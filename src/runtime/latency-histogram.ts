/**
 * A fixed-bucket latency histogram (bounds in service-report.ts): recording
 * is a short scan of 21 numbers and one increment, no allocation, so it can
 * sit on the per-message path. `take()` summarises and starts over: each
 * report covers one interval.
 */
import { LATENCY_BUCKETS_MS, type LatencySummary } from "../transport/service-report.js";

export class LatencyHistogram {
  private counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private n = 0;

  record(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  /** The interval's summary; the histogram starts empty again. */
  take(): LatencySummary {
    const counts = this.counts;
    this.counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    this.n = 0;
    return summarise(counts);
  }
}

/** Percentiles of bucket counts: the upper bound of the bucket each falls in (the overflow bucket reads as the last bound). */
export function summarise(counts: readonly number[]): LatencySummary {
  return { counts: [...counts], p50: percentile(counts, 0.5), p95: percentile(counts, 0.95), p99: percentile(counts, 0.99) };
}

export function percentile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return LATENCY_BUCKETS_MS[Math.min(i, LATENCY_BUCKETS_MS.length - 1)]!;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}

/** Bucket counts added up (reports of several processes or intervals). */
export function mergeCounts(into: number[], counts: readonly number[]): void {
  for (let i = 0; i < counts.length; i++) into[i] = (into[i] ?? 0) + counts[i]!;
}

/**
 * How many of the counted fall within `ms`: the buckets whose upper bound is
 * at most `ms` (a bucket straddling it counts as outside, so a service level
 * is never reported met when it may not be).
 */
export function countWithin(counts: readonly number[], ms: number): number {
  let within = 0;
  for (let i = 0; i < LATENCY_BUCKETS_MS.length && LATENCY_BUCKETS_MS[i]! <= ms; i++) within += counts[i]!;
  return within;
}

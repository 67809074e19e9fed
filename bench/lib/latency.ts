/**
 * Publish→handler latency at a fixed offered rate: the publish time travels in
 * the message data (`sentAt`, high-resolution Unix ms), and the handler, in the
 * same process, records now − sentAt. Every side (missive, the raw client, the
 * peer) first runs a warm-up at the same rate that is not measured: in its
 * first two seconds missive's path is still being compiled (its steady-state
 * p99 on Redis was 1.3–1.5 ms, its p99 over seconds 0.5–5 about 2.6–3.3 ms,
 * where raw ioredis's was 1.3–1.7 either way), so a fixed share of the
 * messages left out measured how much code a side runs before it is hot, not
 * its latency.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Issues 16 and 17: missive's publish→handler p99 no more than this above the raw client's, ms. */
export const P99_SLACK_MS = 1;

/** High-resolution Unix time, ms. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** The warm-up before the measured `seconds`: 2 s, or 40% of a short (quick) run. */
export function warmupSeconds(seconds: number): number {
  return Math.min(2, seconds * 0.4);
}

/** How many messages `pace` sends in all (warm-up and measured) at `rate` for `seconds`. */
export function pacedTotal(rate: number, seconds: number): number {
  return Math.floor(rate * (warmupSeconds(seconds) + seconds));
}

export interface Paced {
  /** Messages sent, warm-up included. */
  readonly sent: number;
  /** High-resolution Unix ms when the warm-up ended: messages sent from then on are the measured ones (`summary`). */
  readonly measuredFrom: number;
}

/** Offer `rate` msg/s for the warm-up and then `seconds`: every ~1 ms, send what is due so far. */
export async function pace(rate: number, seconds: number, send: (sentAt: number) => void): Promise<Paced> {
  const total = pacedTotal(rate, seconds);
  const warmupMs = warmupSeconds(seconds) * 1000;
  const t0 = performance.now();
  const measuredFrom = nowMs() + warmupMs;
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) {
      send(nowMs());
      sent++;
    }
    await sleep(1);
  }
  return { sent, measuredFrom };
}

export interface LatencyRecorder {
  record(sentAt: number): void;
  /** Resolves when `n` were recorded, rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<void>;
  /** Percentiles of the messages sent at or after `measuredFrom` (pace's: the warm-up's are left out). */
  summary(measuredFrom: number): { count: number; p50: number; p99: number; max: number };
}

export function latencyRecorder(): LatencyRecorder {
  const values: number[] = [];
  const sentAts: number[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    record(sentAt) {
      values.push(nowMs() - sentAt);
      sentAts.push(sentAt);
      if (waiter && values.length >= waiter.n) waiter.resolve();
    },
    waitFor(n, timeoutMs) {
      if (values.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${values.length} of ${n} messages arrived within ${timeoutMs} ms`)), timeoutMs);
        waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      });
    },
    summary(measuredFrom) {
      const sorted = values.filter((_, i) => sentAts[i]! >= measuredFrom).sort((a, b) => a - b);
      return { count: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? Number.NaN) };
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

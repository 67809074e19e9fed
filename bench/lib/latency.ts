/**
 * Publish→handler latency at a fixed offered rate: the publish time travels in
 * the message data (`sentAt`, high-resolution Unix ms), and the handler, in the
 * same process, records now − sentAt.
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

/** Offer `rate` msg/s for `seconds`: every ~1 ms, send what is due so far. Returns how many were sent. */
export async function pace(rate: number, seconds: number, send: (sentAt: number) => void): Promise<number> {
  const total = Math.floor(rate * seconds);
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) {
      send(nowMs());
      sent++;
    }
    await sleep(1);
  }
  return sent;
}

export interface LatencyRecorder {
  record(sentAt: number): void;
  /** Resolves when `n` were recorded, rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<void>;
  summary(skipFirst: number): { count: number; p50: number; p99: number; max: number };
}

export function latencyRecorder(): LatencyRecorder {
  const values: number[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    record(sentAt) {
      values.push(nowMs() - sentAt);
      if (waiter && values.length >= waiter.n) waiter.resolve();
    },
    waitFor(n, timeoutMs) {
      if (values.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${values.length} of ${n} messages arrived within ${timeoutMs} ms`)), timeoutMs);
        waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      });
    },
    summary(skipFirst) {
      // Arrival order ≈ send order; the first messages pay for JIT warm-up and are left out.
      const sorted = values.slice(Math.min(skipFirst, Math.max(0, values.length - 1))).sort((a, b) => a - b);
      return { count: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? Number.NaN) };
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** A source of uniform numbers in [0, 1): Math.random, or a seeded generator in tests. */
export type Random = () => number;

export interface BackoffOptions {
  /** Delay cap before jitter for the first retry, ms. */
  readonly baseMs: number;
  /** Largest delay, ms. */
  readonly maxMs: number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff and Jitter"): a uniform delay in [0, min(max, base * 2^(n-1))].
 * Full jitter spreads a herd of retries evenly instead of in waves.
 * `retryNumber` starts at 1.
 */
export function fullJitterDelay(retryNumber: number, options: BackoffOptions, random: Random): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(Math.max(retryNumber - 1, 0), 30));
  return Math.floor(random() * exp);
}

/** setTimeout fires after 1 ms when asked for more than this (a signed 32-bit delay). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. Delays past ~24.8 days are chained timers. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    let remaining = ms;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const arm = (): void => {
      const step = Math.min(remaining, MAX_TIMER_MS);
      remaining -= step;
      timer = setTimeout(remaining > 0 ? arm : done, step);
    };
    arm();
    signal?.addEventListener("abort", done, { once: true });
  });
}

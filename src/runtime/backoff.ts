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

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

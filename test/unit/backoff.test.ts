import { getEventListeners } from "node:events";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fullJitterDelay, sleep } from "../../src/runtime/backoff.js";

const ALMOST_ONE = 1 - Number.EPSILON;

describe("backoff fullJitterDelay", () => {
  const opts = { baseMs: 50, maxMs: 5000 };

  it("backoff - random 0 gives 0 for every retry", () => {
    for (const n of [1, 2, 10, 100]) expect(fullJitterDelay(n, opts, () => 0)).toBe(0);
  });

  it("backoff - random just under 1 gives just under base·2^(n-1), capped at maxMs", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => fullJitterDelay(n, opts, () => ALMOST_ONE))).toEqual([49, 99, 199, 399, 799, 1599, 3199, 4999, 4999]);
  });

  it("backoff - retry numbers below 1 are treated as the first retry", () => {
    expect(fullJitterDelay(0, opts, () => ALMOST_ONE)).toBe(49);
    expect(fullJitterDelay(-5, opts, () => ALMOST_ONE)).toBe(49);
  });

  it("backoff - huge retry numbers stay finite and capped", () => {
    for (const n of [31, 1024, 1e9]) expect(fullJitterDelay(n, opts, () => ALMOST_ONE)).toBe(4999);
  });

  it("backoff - maxMs below baseMs caps the first retry too", () => {
    expect(fullJitterDelay(1, { baseMs: 1000, maxMs: 10 }, () => ALMOST_ONE)).toBe(9);
  });

  it("backoff - property: the delay is an integer in [0, min(maxMs, base·2^(n-1)))", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 1, max: 3_600_000 }), fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }), (n, baseMs, maxMs, r) => {
        const d = fullJitterDelay(n, { baseMs, maxMs }, () => r);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(maxMs, baseMs * 2 ** (n - 1)));
      }),
    );
  });

  it("backoff - with a uniform random the delays spread over the whole window", () => {
    // Deterministic stand-in for Math.random: a full sweep of [0, 1).
    const delays = Array.from({ length: 1000 }, (_, i) => fullJitterDelay(3, { baseMs: 100, maxMs: 10_000 }, () => i / 1000));
    expect(Math.min(...delays)).toBe(0);
    expect(Math.max(...delays)).toBe(399);
    const buckets = [0, 0, 0, 0];
    for (const d of delays) buckets[Math.floor(d / 100)]!++;
    expect(buckets).toEqual([250, 250, 250, 250]);
  });
});

describe("backoff sleep", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Tracks whether a promise has settled. */
  function track(p: Promise<void>): { done: boolean } {
    const state = { done: false };
    void p.then(() => (state.done = true));
    return state;
  }

  it("backoff - sleep resolves after ms, not before", async () => {
    const s = track(sleep(1000));
    await vi.advanceTimersByTimeAsync(999);
    expect(s.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.done).toBe(true);
  });

  it("backoff - sleep of 0 or less resolves at once", async () => {
    const a = track(sleep(0));
    const b = track(sleep(-10));
    await Promise.resolve();
    expect(a.done && b.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("backoff - abort resolves sleep at once, clears its timer and removes its listener", async () => {
    const ac = new AbortController();
    const s = track(sleep(60_000, ac.signal));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(s.done).toBe(false);
    ac.abort();
    await Promise.resolve();
    await Promise.resolve();
    expect(s.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("backoff - an already aborted signal resolves at once without a timer", async () => {
    const s = track(sleep(60_000, AbortSignal.abort()));
    await Promise.resolve();
    expect(s.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("backoff - a finished sleep leaves no listener on the signal (no leak over many sleeps)", async () => {
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) {
      const p = sleep(10, ac.signal);
      await vi.advanceTimersByTimeAsync(10);
      await p;
    }
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("backoff - sleep never rejects, even when aborted with a reason", async () => {
    const ac = new AbortController();
    const p = sleep(1000, ac.signal);
    ac.abort(new Error("shutdown"));
    await expect(p).resolves.toBeUndefined();
  });

  it("backoff - a sleep longer than setTimeout's 32-bit limit (~24.8 days) does not fire early", async () => {
    // Regression: setTimeout clamps delays above 2^31-1 ms to 1 ms, so a 30-day sleep ended at once.
    const thirtyDays = 30 * 24 * 3_600_000;
    const s = track(sleep(thirtyDays));
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.done).toBe(false);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(s.done).toBe(false);
    await vi.advanceTimersByTimeAsync(thirtyDays - 2 ** 31 - 1001);
    expect(s.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.done).toBe(true);
  });

  it("backoff - a long sleep is still cut short by abort", async () => {
    const ac = new AbortController();
    const s = track(sleep(2 ** 33, ac.signal));
    await vi.advanceTimersByTimeAsync(2 ** 31 + 5);
    expect(s.done).toBe(false);
    ac.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});

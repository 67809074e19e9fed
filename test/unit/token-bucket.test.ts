import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { TokenBucket, rateLimitSettings, type RateLimitOptions } from "../../src/runtime/token-bucket.js";

/** Fake timers drive both the bucket's timer and its injected clock, so waits are exact and instant. */
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const bucket = (options: RateLimitOptions): TokenBucket => new TokenBucket(options, () => Date.now());

/** A take() whose settling the test can watch. */
function watch(p: Promise<void>): { done: boolean } {
  const state = { done: false };
  void p.then(() => (state.done = true));
  return state;
}

describe("token-bucket", () => {
  it("token-bucket - settings default burst to one second's worth, at least 1", () => {
    expect(rateLimitSettings({ perSecond: 40 }, "rateLimit")).toEqual({ perSecond: 40, burst: 40 });
    expect(rateLimitSettings({ perSecond: 2.5 }, "rateLimit")).toEqual({ perSecond: 2.5, burst: 2 });
    expect(rateLimitSettings({ perSecond: 0.2 }, "rateLimit")).toEqual({ perSecond: 0.2, burst: 1 });
    expect(rateLimitSettings({ perSecond: 40, burst: 5 }, "rateLimit")).toEqual({ perSecond: 40, burst: 5 });
  });

  it("token-bucket - bad settings are ConfigurationErrors naming the option", () => {
    const bad: unknown[] = [
      { perSecond: 0 }, { perSecond: -1 }, { perSecond: Number.NaN }, { perSecond: Number.POSITIVE_INFINITY }, { perSecond: "10" },
      { perSecond: 10, burst: 0 }, { perSecond: 10, burst: 1.5 }, { perSecond: 10, burst: Number.NaN }, null, 10,
    ];
    for (const options of bad) {
      expect(() => rateLimitSettings(options as RateLimitOptions, "publisher.rateLimit")).toThrow(
        expect.objectContaining({ code: ErrorCodes.CONFIG, message: expect.stringContaining("publisher.rateLimit") }),
      );
    }
    expect(() => bucket({ perSecond: 0 })).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG }));
  });

  it("token-bucket - starts full: a burst goes at once, then nothing until a refill", () => {
    const b = bucket({ perSecond: 10, burst: 3 });
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    expect(b.waitMs()).toBe(100);
    expect(b.waitMs(2)).toBe(200);
  });

  it("token-bucket - refills at perSecond, capped at the burst after an idle period", () => {
    const b = bucket({ perSecond: 10, burst: 3 });
    expect(b.tryTake(3)).toBe(true);
    vi.advanceTimersByTime(99);
    expect(b.tryTake()).toBe(false);
    expect(b.waitMs()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(b.tryTake()).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(b.tryTake(3)).toBe(true);
    expect(b.tryTake()).toBe(false);
  });

  it("token-bucket - a request larger than the burst is taken from a full bucket as debt, then paid off", () => {
    const b = bucket({ perSecond: 10, burst: 5 });
    expect(b.tryTake(12)).toBe(true); // 5 - 12 = -7
    expect(b.waitMs()).toBe(800); // back to +1 takes 8 tokens
    vi.advanceTimersByTime(799);
    expect(b.tryTake()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(b.tryTake()).toBe(true);
    // Not full: the next oversized request waits until the bucket is (5 tokens from 0), not for ever.
    expect(b.tryTake(12)).toBe(false);
    expect(b.waitMs(12)).toBe(500);
  });

  it("token-bucket - take(n > burst) waits for a full bucket and paces what follows", async () => {
    const b = bucket({ perSecond: 100, burst: 10 });
    b.tryTake(10);
    const big = watch(b.take(25));
    await vi.advanceTimersByTimeAsync(99);
    expect(big.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(big.done).toBe(true); // 10 - 25 = -15
    const next = watch(b.take());
    await vi.advanceTimersByTimeAsync(159);
    expect(next.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(next.done).toBe(true);
  });

  it("token-bucket - take() resolves at once with tokens, after the refill without", async () => {
    const b = bucket({ perSecond: 20, burst: 1 });
    const first = watch(b.take());
    await vi.advanceTimersByTimeAsync(0);
    expect(first.done).toBe(true);
    const second = watch(b.take());
    await vi.advanceTimersByTimeAsync(49);
    expect(second.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(second.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0); // nobody waits: no timer holds the process
  });

  it("token-bucket - waiters are served first come, first served: a later small request does not overtake", async () => {
    const b = bucket({ perSecond: 10, burst: 5 });
    b.tryTake(5);
    const order: string[] = [];
    const big = b.take(5).then(() => order.push("big"));
    const small = b.take(1).then(() => order.push("small"));
    await vi.advanceTimersByTimeAsync(100); // one token: enough for the small one, which still waits its turn
    expect(order).toEqual([]);
    expect(b.tryTake()).toBe(false); // nor may a synchronous taker jump the queue
    expect(b.waitMs()).toBe(600); // 500 for big, 100 for small, then 100 for this one
    await vi.advanceTimersByTimeAsync(400);
    expect(order).toEqual(["big"]);
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toEqual(["big", "small"]);
    await Promise.all([big, small]);
  });

  it("token-bucket - several waiters that fit are served together", async () => {
    const b = bucket({ perSecond: 10, burst: 3 });
    b.tryTake(3);
    const ws = [watch(b.take()), watch(b.take()), watch(b.take())];
    await vi.advanceTimersByTimeAsync(300);
    expect(ws.map((w) => w.done)).toEqual([true, true, true]);
  });

  it("token-bucket - an aborted wait resolves at once without taking, and the next waiter moves up", async () => {
    const b = bucket({ perSecond: 10, burst: 5 });
    b.tryTake(5);
    const stop = new AbortController();
    const big = watch(b.take(5, stop.signal));
    const small = watch(b.take(1));
    await vi.advanceTimersByTimeAsync(50);
    stop.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(big.done).toBe(true);
    expect(small.done).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(small.done).toBe(true); // served from the refill the aborted request did not take
    expect(b.tryTake()).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("token-bucket - an already aborted signal resolves at once and takes nothing", async () => {
    const b = bucket({ perSecond: 10, burst: 1 });
    const done = watch(b.take(1, AbortSignal.abort()));
    await vi.advanceTimersByTimeAsync(0);
    expect(done.done).toBe(true);
    expect(b.tryTake()).toBe(true);
  });

  it("token-bucket - aborting every waiter leaves no timer behind", async () => {
    const b = bucket({ perSecond: 1, burst: 1 });
    b.tryTake();
    const stops = [new AbortController(), new AbortController()];
    const ws = stops.map((s) => watch(b.take(1, s.signal)));
    expect(vi.getTimerCount()).toBe(1);
    stops[1]!.abort();
    stops[0]!.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(ws.map((w) => w.done)).toEqual([true, true]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("token-bucket - n = 0 is free, a negative or NaN count is refused", () => {
    const b = bucket({ perSecond: 10, burst: 1 });
    b.tryTake();
    expect(b.tryTake(0)).toBe(true);
    expect(b.waitMs(0)).toBe(0);
    for (const n of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => b.tryTake(n)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG }));
    }
  });

  it("token-bucket - a clock that steps back neither adds nor drains tokens", () => {
    let now = 1000;
    const b = new TokenBucket({ perSecond: 10, burst: 2 }, () => now);
    b.tryTake(2);
    now = 500;
    expect(b.tryTake()).toBe(false);
    now = 1100;
    expect(b.tryTake()).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { CircuitBreaker, type BreakerOptions, type BreakerState } from "../../src/runtime/circuit-breaker.js";

const ALMOST_ONE = 1 - Number.EPSILON;

/** A breaker on a hand-driven clock, recording its state changes. */
function setup(options: Partial<BreakerOptions> = {}, random: () => number = () => 0) {
  const clock = { now: 1_000_000 };
  const events: BreakerState[] = [];
  const breaker = new CircuitBreaker({ threshold: 3, cooldownMs: 1000, maxCooldownMs: 30_000, ...options }, random, (s) => events.push(s), () => clock.now);
  const advance = (ms: number): void => {
    clock.now += ms;
  };
  const fail = (n: number): void => {
    for (let i = 0; i < n; i++) breaker.failure();
  };
  return { breaker, events, clock, advance, fail };
}

describe("circuit-breaker", () => {
  it("circuit-breaker - starts closed with unlimited allowance", () => {
    const { breaker, events } = setup();
    expect(breaker.state).toBe("closed");
    expect(breaker.allowance()).toBe(Number.POSITIVE_INFINITY);
    expect(breaker.waitMs()).toBe(0);
    expect(events).toEqual([]);
  });

  it("circuit-breaker - opens after threshold consecutive failures, not before", () => {
    const { breaker, events, fail } = setup();
    fail(2);
    expect(breaker.state).toBe("closed");
    expect(events).toEqual([]);
    fail(1);
    expect(breaker.state).toBe("open");
    expect(events).toEqual(["open"]);
    expect(breaker.allowance()).toBe(0);
  });

  it("circuit-breaker - a success resets the run of failures", () => {
    const { breaker, fail } = setup();
    fail(2);
    breaker.success();
    fail(2);
    expect(breaker.state).toBe("closed");
    fail(1);
    expect(breaker.state).toBe("open");
  });

  it("circuit-breaker - allowance is 0 for the whole cool-down, then one probe when half-open", () => {
    const { breaker, events, fail, advance } = setup(); // random 0: cool-down = cooldownMs / 2 = 500
    fail(3);
    expect(breaker.waitMs()).toBe(500);
    advance(499);
    expect(breaker.allowance()).toBe(0);
    expect(breaker.state).toBe("open");
    expect(breaker.waitMs()).toBe(1);
    advance(1);
    expect(breaker.state).toBe("half-open");
    expect(breaker.allowance()).toBe(1);
    expect(breaker.waitMs()).toBe(0);
    expect(events).toEqual(["open", "half-open"]);
  });

  it("circuit-breaker - only one probe at a time when half-open", () => {
    const { breaker, fail, advance } = setup();
    fail(3);
    advance(1000);
    expect(breaker.allowance()).toBe(1);
    breaker.probeTaken();
    expect(breaker.allowance()).toBe(0);
    expect(breaker.state).toBe("half-open");
  });

  it("circuit-breaker - a successful probe closes the breaker", () => {
    const { breaker, events, fail, advance } = setup();
    fail(3);
    advance(1000);
    breaker.probeTaken();
    breaker.success();
    expect(breaker.state).toBe("closed");
    expect(breaker.allowance()).toBe(Number.POSITIVE_INFINITY);
    expect(events).toEqual(["open", "half-open", "closed"]);
    // Closed again means a fresh run: threshold failures to reopen.
    fail(2);
    expect(breaker.state).toBe("closed");
  });

  it("circuit-breaker - a failed probe reopens with a longer cool-down, doubling up to the cap", () => {
    const { breaker, events, fail, advance } = setup({ cooldownMs: 1000, maxCooldownMs: 4000 });
    fail(3);
    const cooldowns: number[] = [breaker.waitMs()];
    for (let i = 0; i < 4; i++) {
      advance(breaker.waitMs());
      expect(breaker.allowance()).toBe(1);
      breaker.probeTaken();
      breaker.failure(); // one failure in half-open is enough
      expect(breaker.state).toBe("open");
      cooldowns.push(breaker.waitMs());
    }
    // random 0 gives the fixed half of each cap: caps 1000, 2000, 4000, 4000, 4000.
    expect(cooldowns).toEqual([500, 1000, 2000, 2000, 2000]);
    expect(events).toEqual(["open", "half-open", "open", "half-open", "open", "half-open", "open", "half-open", "open"]);
  });

  it("circuit-breaker - cool-downs are jittered within [cap/2, cap]", () => {
    for (const r of [0, 0.25, 0.5, ALMOST_ONE]) {
      const { breaker, fail } = setup({ cooldownMs: 1000 }, () => r);
      fail(3);
      const wait = breaker.waitMs();
      expect(wait).toBeGreaterThanOrEqual(500);
      expect(wait).toBeLessThanOrEqual(1000);
      expect(wait).toBeCloseTo(500 + r * 500, 6);
    }
  });

  it("circuit-breaker - after closing, the next opening starts again from the first cool-down", () => {
    const { breaker, fail, advance } = setup();
    fail(3);
    advance(500);
    breaker.failure(); // probe failed: cool-down 1000
    expect(breaker.waitMs()).toBe(1000);
    advance(1000);
    breaker.success();
    fail(3);
    expect(breaker.waitMs()).toBe(500);
  });

  it("circuit-breaker - failures while open do not extend the cool-down", () => {
    const { breaker, events, fail, advance } = setup();
    fail(3);
    advance(200);
    fail(10); // in-flight messages failing after the breaker opened
    expect(breaker.waitMs()).toBe(300);
    expect(events).toEqual(["open"]);
  });

  it("circuit-breaker - threshold 0 disables it: never opens, never reports", () => {
    const { breaker, events, fail } = setup({ threshold: 0 });
    fail(10_000);
    expect(breaker.state).toBe("closed");
    expect(breaker.allowance()).toBe(Number.POSITIVE_INFINITY);
    expect(breaker.waitMs()).toBe(0);
    expect(events).toEqual([]);
  });

  it("circuit-breaker - threshold 1 opens on the first failure", () => {
    const { breaker, fail } = setup({ threshold: 1 });
    fail(1);
    expect(breaker.state).toBe("open");
  });

  it("circuit-breaker - probeTaken while closed or open changes nothing", () => {
    const { breaker, fail, advance } = setup();
    breaker.probeTaken();
    expect(breaker.allowance()).toBe(Number.POSITIVE_INFINITY);
    fail(3);
    breaker.probeTaken();
    advance(500);
    expect(breaker.allowance()).toBe(1);
  });

  it("circuit-breaker - a success while closed emits nothing", () => {
    const { breaker, events } = setup();
    breaker.success();
    breaker.success();
    expect(events).toEqual([]);
  });

  it("circuit-breaker - onChange fires once per transition, never for a repeated state", () => {
    const { breaker, events, fail, advance } = setup();
    fail(3);
    fail(3);
    advance(500);
    void breaker.state;
    void breaker.allowance();
    void breaker.waitMs();
    breaker.success();
    breaker.success();
    expect(events).toEqual(["open", "half-open", "closed"]);
  });

  it("circuit-breaker - a probe whose outcome is never reported does not wedge the breaker", () => {
    // Regression: a probe the consumer settles without success() or failure() (dead-lettered as
    // poison, a duplicate) left `probing` set for good: allowance 0 forever, and the consumer stalled.
    const { breaker, fail, advance } = setup();
    fail(3);
    advance(500);
    breaker.probeTaken();
    expect(breaker.allowance()).toBe(0);
    advance(499);
    expect(breaker.allowance()).toBe(0);
    advance(1);
    expect(breaker.allowance()).toBe(1); // another probe after one more cool-down
    breaker.probeTaken();
    breaker.success();
    expect(breaker.state).toBe("closed");
  });
});

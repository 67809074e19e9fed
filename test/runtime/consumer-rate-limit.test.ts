/**
 * The consumer's `rateLimit` on the memory transport: attempts are paced by a
 * token bucket, the wait is not handler time, and closing ends the wait with
 * the waiting messages given back (never acked unhandled, never lost).
 * Timing bounds: lower bounds from the bucket's arithmetic (it never serves
 * early), upper bounds loose for a busy machine.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, missive, type Bus } from "../../src/index.js";
import { forgetMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { uniqueName, waitFor } from "../support/wait.js";

const buses: Bus[] = [];
const brokers: string[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
  for (const name of brokers.splice(0)) forgetMemoryBroker(name);
});

async function newBus(): Promise<Bus> {
  const name = uniqueName("rate-limit");
  brokers.push(name);
  const bus = await missive({ transport: `memory://${name}`, service: "rate-limit" });
  buses.push(bus);
  return bus;
}

async function publish(bus: Bus, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
}

describe("consumer rate limit", () => {
  it("consumer rate limit - 60 messages at 40/s with a burst of 10 take at least 1.25 s, none faster than the bucket", async () => {
    const bus = await newBus();
    const starts: number[] = [];
    const consumer = bus.consume(OrderPlaced, { group: "paced", concurrency: 8, rateLimit: { perSecond: 40, burst: 10 } }, () => {
      starts.push(performance.now());
    });
    await consumer.ready;
    await publish(bus, 60);
    await waitFor(() => starts.length === 60, 20_000, "60 handled");
    const t0 = starts[0]!;
    const span = starts[59]! - t0;
    // 10 from the full bucket, 50 more at 40/s: 1250 ms. A few ms of slack for float rounding only.
    expect(span).toBeGreaterThanOrEqual(1240);
    expect(span).toBeLessThan(8000);
    // At every point, no more started than the burst plus what refilled since the first.
    starts.forEach((t, i) => expect(t - t0).toBeGreaterThanOrEqual(((i + 1 - 10) / 40) * 1000 - 15));
    expect(consumer.stats()).toMatchObject({ handled: 60, retried: 0 });
  });

  it("consumer rate limit - waiting for a token does not count against the handler timeout", async () => {
    const bus = await newBus();
    const attempts: number[] = [];
    // 1 token, then 10/s: the fourth message waits ~300 ms, three times the timeout.
    const consumer = bus.consume(OrderPlaced, { group: "timed", concurrency: 4, timeout: "100ms", rateLimit: { perSecond: 10, burst: 1 } }, (_d, ctx) => {
      attempts.push(ctx.attempt);
    });
    await consumer.ready;
    await publish(bus, 4);
    await waitFor(() => attempts.length === 4, 10_000, "4 handled");
    expect(attempts).toEqual([1, 1, 1, 1]);
    expect(consumer.stats()).toMatchObject({ handled: 4, retried: 0 });
  });

  it("consumer rate limit - closing mid-wait returns promptly; the waiting messages are redelivered, none lost or acked unhandled", async () => {
    const bus = await newBus();
    const first: number[] = [];
    let closed = false;
    let ranAfterClose = 0;
    // 1 token, then one every 500 ms: the rest of the 12 would take ~5.5 s.
    const slow = bus.consume(OrderPlaced, { group: "drain", concurrency: 4, prefetch: 8, rateLimit: { perSecond: 2, burst: 1 } }, (d) => {
      if (closed) ranAfterClose++;
      first.push(d.seq);
    });
    await slow.ready;
    await publish(bus, 12);
    await waitFor(() => first.length === 1 && slow.stats().inFlight > 0, 10_000, "one handled, the next waiting for a token");
    const t = performance.now();
    await slow.close(5_000);
    closed = true;
    expect(performance.now() - t).toBeLessThan(1_000);
    expect(ranAfterClose).toBe(0);
    expect(slow.stats()).toMatchObject({ handled: first.length, retried: 0, deadLettered: 0 });

    const second = new Map<number, number>();
    const fast = bus.consume(OrderPlaced, { group: "drain" }, (d, ctx) => {
      second.set(d.seq, ctx.attempt);
    });
    await fast.ready;
    await waitFor(() => first.length + second.size >= 12, 10_000, "the rest redelivered");
    expect([...first, ...second.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(first.filter((s) => second.has(s))).toEqual([]);
    // Given back, not failed: a wait cut short by close is no attempt.
    expect([...second.values()].every((a) => a === 1)).toBe(true);
  });

  it("consumer rate limit - bad rateLimit options are ConfigurationErrors", async () => {
    const bus = await newBus();
    const h = (): void => {};
    for (const rateLimit of [{ perSecond: 0 }, { perSecond: 10, burst: 0 }, { perSecond: 10, burst: 2.5 }, { perSecond: Number.POSITIVE_INFINITY }]) {
      expect(() => bus.consume(OrderPlaced, { group: "bad", rateLimit }, h)).toThrow(
        expect.objectContaining({ code: ErrorCodes.CONFIG, message: expect.stringContaining("rateLimit") }),
      );
    }
  });
});

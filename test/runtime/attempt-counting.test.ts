/**
 * Attempt counting where the broker counts every delivery (JetStream's
 * num_delivered: releases and naks included), simulated by the memory
 * transport with `attempts: "deliveries"` (or `none`): only handler starts
 * use the retry budget; the runtime counts them in the header it writes on
 * each retry.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TransientError, missive, type Bus } from "../../src/index.js";
import { createMemoryBroker, type MemoryBroker } from "../../src/transports/memory/index.js";
import { startingAttempt } from "../../src/runtime/attempts.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});

const GROUP = "billing";

/** Hand the group's next message out and give it back unhandled, `times` times (consumers closing); resolves with its last `attempt`. */
async function releaseRepeatedly(broker: MemoryBroker, counting: "deliveries" | "none", times: number): Promise<number> {
  const t = broker.transport({ capabilities: { attempts: counting } });
  await t.connect();
  const sub = await t.subscribe({ group: GROUP, topics: [OrderPlaced.type], prefetch: 1, ordered: false, leaseMs: 30_000 });
  let attempt = -1;
  for (let i = 0; i < times; i++) {
    const [d] = await sub.receive(1, 2_000);
    if (!d) throw new Error("the message did not come back");
    attempt = d.attempt;
    await d.release();
  }
  await sub.close();
  await t.close();
  return attempt;
}

describe("attempt counting", () => {
  it("attempt counting - exact counts take the larger of the broker's count and the retry header; others use the header only", () => {
    expect(startingAttempt(4, 1, "exact")).toBe(4);
    expect(startingAttempt(1, 2, "exact")).toBe(3);
    expect(startingAttempt(9, 0, "deliveries")).toBe(1);
    expect(startingAttempt(9, 2, "deliveries")).toBe(3);
    expect(startingAttempt(0, 0, "none")).toBe(1);
  });

  for (const counting of ["deliveries", "none"] as const) {
    it(`attempt counting - with attempts "${counting}", releases do not use up the retry budget`, async () => {
      const broker = createMemoryBroker({ seed: 7 });
      const bus = await missive({ service: "attempts", transport: broker.transport({ capabilities: { attempts: counting } }) });
      buses.push(bus);
      await bus.declare(OrderPlaced, GROUP);
      await bus.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 });
      const lastSeen = await releaseRepeatedly(broker, counting, 5);
      // The simulation bites: the broker's own count went up with every release (or says nothing at all).
      expect(lastSeen).toBe(counting === "deliveries" ? 5 : 0);

      const attempts: number[] = [];
      const consumer = bus.consume(OrderPlaced, { group: GROUP, retry: { attempts: 2, delays: ["10ms"] } }, (_d, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new TransientError("once");
      });
      await consumer.ready;
      await waitFor(() => consumer.stats().handled === 1 || consumer.stats().deadLettered > 0, 10_000, "handled or dead-lettered");
      expect(attempts).toEqual([1, 2]);
      expect(consumer.stats()).toMatchObject({ handled: 1, retried: 1, deadLettered: 0 });
    });
  }

  it("attempt counting - naks on a broker counting deliveries: each handler start counts once, the budget ends on time", async () => {
    const broker = createMemoryBroker({ seed: 8 });
    const bus = await missive({ service: "attempts", transport: broker.transport({ capabilities: { attempts: "deliveries" } }) });
    buses.push(bus);
    const attempts: number[] = [];
    const consumer = bus.consume(OrderPlaced, { group: GROUP, retry: { attempts: 3, delays: ["10ms"] } }, (_d, ctx) => {
      attempts.push(ctx.attempt);
      throw new TransientError("always");
    });
    await consumer.ready;
    await bus.publish(OrderPlaced, { orderId: "b", seq: 1, totalCents: 1 });
    await waitFor(() => consumer.stats().deadLettered === 1, 10_000, "dead-lettered after its budget");
    expect(attempts).toEqual([1, 2, 3]);
    expect(consumer.stats()).toMatchObject({ retried: 2, deadLettered: 1 });
  });
});

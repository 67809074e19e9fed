import { describe, expect, it } from "vitest";
import { ConfigurationError, LeaseLostError } from "../../src/errors.js";
import type { Delivery, Subscription } from "../../src/transport/transport.js";
import { createMemoryBroker, memoryInbox, type MemoryBroker, type MemoryTransport } from "../../src/transports/memory/index.js";
import { connected, message, wire } from "./memory-support.js";

async function oneDelivery(broker: MemoryBroker = createMemoryBroker()): Promise<{ broker: MemoryBroker; transport: MemoryTransport; subscription: Subscription; delivery: Delivery }> {
  const transport = await connected(broker);
  const subscription = await transport.subscribe({ group: "g", topics: ["t"], prefetch: 10, ordered: true, leaseMs: 20 });
  await transport.publish([message("t", "m1")]);
  const [delivery] = await subscription.receive(1, 500);
  return { broker, transport, subscription, delivery: delivery! };
}

/** A delivery from some other transport: the memory inbox cannot ack it. */
const foreign: Delivery = {
  topic: "t", group: "g", key: undefined, attempt: 1, wire: wire("x"),
  ack: () => Promise.resolve(), retry: () => Promise.resolve(), deadLetter: () => Promise.resolve(), release: () => Promise.resolve(),
};

describe("memory inbox", () => {
  it("memory inbox - runs effects once, applies commit callbacks and acks the memory delivery in the same step", async () => {
    const { broker, delivery } = await oneDelivery();
    const inbox = memoryInbox();
    const applied: string[] = [];
    const outcome = await inbox.runOnce("g", "m1", delivery, (tx) => {
      tx.onCommit(() => applied.push("write"));
      expect(applied).toEqual([]); // not before commit
      return 42;
    });
    expect(outcome).toEqual({ duplicate: false, value: 42, acked: true });
    expect(applied).toEqual(["write"]);
    expect(broker.stats()).toMatchObject({ acked: 1, queues: { g: { depth: 0 } } });
    expect(await inbox.seen("g", "m1")).toBe(true);
    expect(await inbox.seen("other", "m1")).toBe(false);

    let ranAgain = false;
    expect(await inbox.runOnce("g", "m1", foreign, () => (ranAgain = true))).toEqual({ duplicate: true });
    expect(ranAgain).toBe(false);
    expect(inbox.name).toBe("memory");
  });

  it("memory inbox - an error in effects rolls back: no row, no callbacks, no ack", async () => {
    const { broker, delivery } = await oneDelivery();
    const inbox = memoryInbox();
    const applied: string[] = [];
    const boom = new Error("handler failed");
    await expect(inbox.runOnce("g", "m1", delivery, (tx) => {
      tx.onCommit(() => applied.push("write"));
      throw boom;
    })).rejects.toBe(boom);
    expect(applied).toEqual([]);
    expect(await inbox.seen("g", "m1")).toBe(false);
    expect(broker.stats().acked).toBe(0);
    await delivery.ack(); // still held
  });

  it("memory inbox - effects returning a promise are a ConfigurationError and commit nothing", async () => {
    const { delivery } = await oneDelivery();
    const inbox = memoryInbox();
    await expect(inbox.runOnce("g", "m1", delivery, () => Promise.reject(new Error("async")))).rejects.toBeInstanceOf(ConfigurationError);
    expect(await inbox.seen("g", "m1")).toBe(false);
  });

  it("memory inbox - a lost lease rolls the step back with LeaseLostError", async () => {
    const { transport, delivery } = await oneDelivery();
    const inbox = memoryInbox();
    transport.crash();
    let applied = false;
    await expect(inbox.runOnce("g", "m1", delivery, (tx) => tx.onCommit(() => (applied = true)))).rejects.toBeInstanceOf(LeaseLostError);
    expect(applied).toBe(false);
    expect(await inbox.seen("g", "m1")).toBe(false);
  });

  it("memory inbox - a delivery of another transport is recorded but not acked", async () => {
    const inbox = memoryInbox();
    expect(await inbox.runOnce("g", "x1", foreign, () => "done")).toEqual({ duplicate: false, value: "done", acked: false });
  });

  it("memory inbox - a dropped ack still commits the row; the redelivery is a duplicate", async () => {
    const { broker, subscription, delivery } = await oneDelivery(createMemoryBroker({ seed: 11, faults: { dropAck: 1 } }));
    const inbox = broker.inbox();
    let effects = 0;
    expect(await inbox.runOnce("g", "m1", delivery, () => ++effects)).toEqual({ duplicate: false, value: 1, acked: true });
    expect(broker.stats().droppedAcks).toBe(1);
    const [again] = await subscription.receive(1, 1_000);
    expect(again).toMatchObject({ attempt: 2 });
    expect(await inbox.runOnce("g", "m1", again!, () => ++effects)).toEqual({ duplicate: true });
    expect(effects).toBe(1);
  });

  it("memory inbox - onCommit after the transaction ended is a ConfigurationError", async () => {
    const inbox = memoryInbox();
    let leaked: { onCommit(fn: () => void): void } | undefined;
    await inbox.runOnce("g", "x1", foreign, (tx) => (leaked = tx));
    expect(() => leaked!.onCommit(() => undefined)).toThrow(ConfigurationError);
  });

  it("memory inbox - cleanup deletes rows older than asked and says how many", async () => {
    const inbox = memoryInbox();
    await inbox.runOnce("g", "x1", foreign, () => undefined);
    await inbox.runOnce("h", "x2", foreign, () => undefined);
    expect(await inbox.cleanup(60_000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await inbox.cleanup(1)).toBe(2);
    expect(await inbox.seen("g", "x1")).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { ClosedError, ConnectionError } from "../../src/errors.js";
import type { Subscription } from "../../src/transport/transport.js";
import { createMemoryBroker, forgetMemoryBroker, memoryBrokerNamed, memoryTransport, type MemoryBroker, type MemoryTransport } from "../../src/transports/memory/index.js";
import { bodies, brokerWithTransport, connected, message } from "./memory-support.js";

const LEASE = 30;
const sub = (group: string, topics: string[], extra: { prefetch?: number; ordered?: boolean; leaseMs?: number; temporary?: boolean } = {}) => ({
  group, topics, prefetch: extra.prefetch ?? 10, ordered: extra.ordered ?? true, leaseMs: extra.leaseMs ?? LEASE, ...(extra.temporary === undefined ? {} : { temporary: extra.temporary }),
});

describe("memory transport", () => {

  it("memory - publish needs connect() and fails after close()", async () => {
    const transport = memoryTransport();
    await expect(transport.publish([message("t", "m1")])).rejects.toBeInstanceOf(ConnectionError);
    await transport.connect();
    await transport.connect(); // idempotent
    await transport.close();
    await expect(transport.publish([message("t", "m1")])).rejects.toBeInstanceOf(ClosedError);
    await expect(transport.subscribe(sub("g", ["t"]))).rejects.toBeInstanceOf(ClosedError);
    await expect(transport.connect()).rejects.toBeInstanceOf(ClosedError);
  });

  it("memory - an unordered subscription is not held back by keys", async () => {
    const { transport } = await brokerWithTransport();
    const unordered = await transport.subscribe(sub("g", ["t"], { ordered: false }));
    await transport.publish([message("t", "a1", "a"), message("t", "a2", "a")]);
    expect(bodies(await unordered.receive(10, 500))).toEqual(["a1", "a2"]);
  });

  it("memory - close() gives unsettled messages back at once; late settles reject with ClosedError", async () => {
    const broker = createMemoryBroker();
    const [a, b] = [await connected(broker), await connected(broker)];
    const closing = await a.subscribe(sub("g", ["t"], { leaseMs: 10_000 }));
    const other = await b.subscribe(sub("g", ["t"]));
    await a.publish([message("t", "m1")]);
    const [held] = await closing.receive(1, 500);
    await a.close();
    const [again] = await other.receive(1, 500);
    expect(again).toMatchObject({ attempt: 2 });
    await expect(held!.ack()).rejects.toBeInstanceOf(ClosedError);
  });

  it("memory - named brokers are process-wide", async () => {
    const name = "memory-transport-test-named";
    const a = memoryBrokerNamed(name);
    expect(memoryBrokerNamed(name)).toBe(a);
    expect(a.inbox()).toBe(a.inbox());
    const producer = await connected(a);
    const consumer = await connected(memoryBrokerNamed(name));
    const subscription = await consumer.subscribe(sub("g", ["t"]));
    await producer.publish([message("t", "m1")]);
    expect(bodies(await subscription.receive(1, 500))).toEqual(["m1"]);
    expect(forgetMemoryBroker(name)).toBe(true);
    expect(memoryBrokerNamed(name)).not.toBe(a);
    forgetMemoryBroker(name);
  });

});

describe("memory transport - dead letters", () => {
  /** billing has o1 dead-lettered (o2, same key, still queued); shipping has i1 dead-lettered. */
  async function deadLettered(): Promise<{ broker: MemoryBroker; transport: MemoryTransport; subscription: Subscription }> {
    const { broker, transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("billing", ["order"]));
    await transport.bind("shipping", ["invoice"]);
    const shipping = await transport.subscribe(sub("shipping", ["invoice"]));
    await transport.publish([message("order", "o1", "k"), message("order", "o2", "k"), message("invoice", "i1")]);
    const [o1] = await subscription.receive(1, 500);
    await o1!.deadLetter({ ...o1!.wire.headers, "missive-error-code": "MISSIVE_PERMANENT", "missive-attempts": "1", "x-kept": "yes" });
    const [i1] = await shipping.receive(1, 500);
    await i1!.deadLetter({ ...i1!.wire.headers });
    await shipping.close();
    return { broker, transport, subscription };
  }

  it("memory - every transport of a broker sees the same dead-letter store", async () => {
    const { broker } = await deadLettered();
    const other = await connected(broker);
    expect(await other.deadLetters!.count()).toBe(2);
  });
});

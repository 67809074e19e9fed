import { describe, expect, it } from "vitest";
import { ClosedError, ConnectionError, LeaseLostError, UnroutableError } from "../../src/errors.js";
import type { Subscription } from "../../src/transport/transport.js";
import { createMemoryBroker, forgetMemoryBroker, memoryBrokerNamed, memoryTransport, type MemoryBroker, type MemoryTransport } from "../../src/transports/memory/index.js";
import { bodies, bodyOf, brokerWithTransport, connected, message, receiveAtLeast, wire } from "./memory-support.js";

const LEASE = 30;
const sub = (group: string, topics: string[], extra: { prefetch?: number; ordered?: boolean; leaseMs?: number; temporary?: boolean } = {}) => ({
  group, topics, prefetch: extra.prefetch ?? 10, ordered: extra.ordered ?? true, leaseMs: extra.leaseMs ?? LEASE, ...(extra.temporary === undefined ? {} : { temporary: extra.temporary }),
});

describe("memory transport", () => {
  it("memory - round trip: publish, receive with attempt 1, ack removes it", async () => {
    const { broker, transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("billing", ["order.created"]));
    const results = await transport.publish([message("order.created", "m1", "k1")]);
    expect(results).toEqual([undefined]);

    const [delivery, ...rest] = await subscription.receive(10, 500);
    expect(rest).toEqual([]);
    expect(delivery).toMatchObject({ topic: "order.created", group: "billing", key: "k1", attempt: 1 });
    expect(bodyOf(delivery!)).toBe("m1");
    expect(delivery!.wire.headers["ce-id"]).toBe("m1");
    await delivery!.ack();
    expect(await subscription.receive(10, 20)).toEqual([]);
    expect(broker.stats()).toMatchObject({ published: 1, delivered: 1, acked: 1, queues: { billing: { depth: 0, inFlight: 0, scheduled: 0 } } });
    expect(transport.name).toBe("memory");
  });

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

  it("memory - an unroutable message fails in its own result slot only", async () => {
    const { broker, transport } = await brokerWithTransport();
    await transport.bind("billing", ["bound"]);
    const results = await transport.publish([message("bound", "m1"), message("nobody", "m2"), message("bound", "m3", undefined, { group: "missing" })]);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeInstanceOf(UnroutableError);
    expect(results[2]).toBeInstanceOf(UnroutableError);
    expect(broker.stats()).toMatchObject({ published: 1, unroutable: 2 });
  });

  it("memory - fan-out to every bound group, competing consumers inside a group, explicit group only to that group", async () => {
    const broker = createMemoryBroker();
    const [a, b] = [await connected(broker), await connected(broker)];
    await a.bind("billing", ["order"]);
    await a.bind("shipping", ["order"]);
    const billing1 = await a.subscribe(sub("billing", ["order"], { ordered: false }));
    const billing2 = await b.subscribe(sub("billing", ["order"], { ordered: false }));
    const shipping = await b.subscribe(sub("shipping", ["order"]));
    await a.publish(["m1", "m2", "m3", "m4"].map((id) => message("order", id)));

    const first = await billing1.receive(2, 500);
    const second = await billing2.receive(10, 500);
    expect([...bodies(first), ...bodies(second)].sort()).toEqual(["m1", "m2", "m3", "m4"]);
    expect(first).toHaveLength(2);
    expect(bodies(await receiveAtLeast(shipping, 4))).toEqual(["m1", "m2", "m3", "m4"]);

    await a.publish([message("order", "only-shipping", undefined, { group: "shipping" })]);
    expect(bodies(await shipping.receive(10, 500))).toEqual(["only-shipping"]);
    expect(await billing1.receive(10, 20)).toEqual([]);
  });

  it("memory - a waiting receive wakes at once on publish", async () => {
    const { transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("g", ["t"]));
    const started = Date.now();
    const pending = subscription.receive(1, 5_000);
    setTimeout(() => void transport.publish([message("t", "m1")]), 10);
    expect(bodies(await pending)).toEqual(["m1"]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("memory - receive resolves [] on timeout and once closed", async () => {
    const { transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("g", ["t"]));
    expect(await subscription.receive(1, 10)).toEqual([]);
    const pending = subscription.receive(1, 5_000);
    await subscription.close();
    expect(await pending).toEqual([]);
    expect(await subscription.receive(1, 5_000)).toEqual([]);
  });

  it("memory - never more than prefetch unsettled; a settle makes room", async () => {
    const { transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("g", ["t"], { prefetch: 2, ordered: false }));
    await transport.publish(["m1", "m2", "m3", "m4"].map((id) => message("t", id)));
    const held = await subscription.receive(10, 500);
    expect(bodies(held)).toEqual(["m1", "m2"]);
    expect(await subscription.receive(10, 10)).toEqual([]);
    const pending = subscription.receive(10, 1_000);
    await held[0]!.ack();
    expect(bodies(await pending)).toEqual(["m3"]);
  });

  it("memory - key order: a retried message holds back only its own key", async () => {
    const { transport } = await brokerWithTransport();
    const ordered = await transport.subscribe(sub("g", ["t"]));
    await transport.publish([message("t", "a1", "a"), message("t", "b1", "b"), message("t", "a2", "a"), message("t", "n1", undefined)]);
    const firstBatch = await ordered.receive(10, 500);
    expect(bodies(firstBatch)).toEqual(["a1", "b1", "n1"]);
    const [a1, b1] = firstBatch;

    await a1!.retry(40, { "x-retry": "1" });
    await b1!.ack();
    await transport.publish([message("t", "b2", "b")]);
    // b2 goes through at once; a2 stays behind the scheduled retry of a1.
    expect(bodies(await ordered.receive(10, 500))).toEqual(["b2"]);
    const again = await ordered.receive(10, 1_000);
    expect(bodies(again)).toEqual(["a1"]);
    expect(again[0]).toMatchObject({ attempt: 2 });
    expect(again[0]!.wire.headers["x-retry"]).toBe("1");
    expect(await ordered.receive(10, 10)).toEqual([]);
    await again[0]!.ack();
    expect(bodies(await ordered.receive(10, 500))).toEqual(["a2"]);
  });

  it("memory - key order holds across consumers of one group", async () => {
    const broker = createMemoryBroker();
    const [a, b] = [await connected(broker), await connected(broker)];
    const first = await a.subscribe(sub("g", ["t"]));
    const second = await b.subscribe(sub("g", ["t"]));
    await a.publish([message("t", "k1", "k"), message("t", "k2", "k")]);
    const [k1] = await first.receive(10, 500);
    expect(bodyOf(k1!)).toBe("k1");
    expect(await second.receive(10, 20)).toEqual([]);
    const pending = second.receive(10, 1_000);
    await k1!.ack();
    expect(bodies(await pending)).toEqual(["k2"]);
  });

  it("memory - an unordered subscription is not held back by keys", async () => {
    const { transport } = await brokerWithTransport();
    const unordered = await transport.subscribe(sub("g", ["t"], { ordered: false }));
    await transport.publish([message("t", "a1", "a"), message("t", "a2", "a")]);
    expect(bodies(await unordered.receive(10, 500))).toEqual(["a1", "a2"]);
  });

  it("memory - delayMs makes a message visible no sooner than asked", async () => {
    const { broker, transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("g", ["t"]));
    const started = Date.now();
    await transport.publish([message("t", "late", undefined, { delayMs: 40 })]);
    expect(await subscription.receive(1, 0)).toEqual([]);
    expect(broker.stats().queues["g"]).toMatchObject({ depth: 1, scheduled: 1 });
    expect(bodies(await subscription.receive(1, 2_000))).toEqual(["late"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it("memory - a held lease is renewed: nobody else gets the message while it is unsettled", async () => {
    const broker = createMemoryBroker();
    const [a, b] = [await connected(broker), await connected(broker)];
    const holder = await a.subscribe(sub("g", ["t"], { leaseMs: 15 }));
    const other = await b.subscribe(sub("g", ["t"], { leaseMs: 15 }));
    await a.publish([message("t", "m1")]);
    const [held] = await holder.receive(1, 500);
    expect(await other.receive(1, 60)).toEqual([]);
    await held!.ack();
    expect(broker.stats()).toMatchObject({ acked: 1, delivered: 1 });
  });

  it("memory - lease expiry: a crashed transport's message comes back after its lease, to another consumer", async () => {
    const broker = createMemoryBroker();
    const [a, b] = [await connected(broker), await connected(broker)];
    const doomed = await a.subscribe(sub("g", ["t"], { leaseMs: 40 }));
    const survivor = await b.subscribe(sub("g", ["t"], { leaseMs: 40 }));
    await a.publish([message("t", "m1", "k"), message("t", "m2", "k")]);
    const [m1] = await doomed.receive(10, 500);
    const crashedAt = Date.now();
    a.crash();
    expect(await survivor.receive(10, 10)).toEqual([]);
    const redelivered = await survivor.receive(10, 2_000);
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(30);
    expect(bodies(redelivered)).toEqual(["m1"]);
    expect(redelivered[0]).toMatchObject({ attempt: 2 });
    await expect(m1!.ack()).rejects.toBeInstanceOf(LeaseLostError);
    await redelivered[0]!.ack();
    expect(bodies(await survivor.receive(10, 500))).toEqual(["m2"]);
    expect(broker.stats().crashes).toBe(1);
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

  it("memory - a subscription's deliveries can still be settled after it closes", async () => {
    const { broker, transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("g", ["t"]));
    await transport.publish([message("t", "m1")]);
    const [held] = await subscription.receive(1, 500);
    await subscription.close();
    await held!.ack();
    expect(broker.stats().acked).toBe(1);
  });

  it("memory - settling twice is a no-op", async () => {
    const { broker, transport } = await brokerWithTransport();
    const subscription = await transport.subscribe(sub("g", ["t"]));
    await transport.publish([message("t", "m1")]);
    const [delivery] = await subscription.receive(1, 500);
    await delivery!.ack();
    await delivery!.ack();
    await delivery!.retry(0, {});
    await delivery!.deadLetter({});
    expect(broker.stats()).toMatchObject({ acked: 1, retried: 0, deadLettered: 0, queues: { g: { depth: 0 } } });
  });

  it("memory - a temporary subscription removes its group on close", async () => {
    const { broker, transport } = await brokerWithTransport();
    const replies = await transport.subscribe(sub("reply-1", ["reply"], { temporary: true }));
    expect(await transport.publish([message("reply", "r1")])).toEqual([undefined]);
    await replies.close();
    expect(broker.stats().queues["reply-1"]).toBeUndefined();
    const [result] = await transport.publish([message("reply", "r2")]);
    expect(result).toBeInstanceOf(UnroutableError);
  });

  it("memory - bind is durable: messages wait for a consumer that subscribes later", async () => {
    const broker = createMemoryBroker();
    const producer = await connected(broker);
    await producer.bind("g", ["t"]);
    await producer.publish([message("t", "m1")]);
    await producer.close();
    const consumer = await connected(broker);
    const subscription = await consumer.subscribe(sub("g", ["t"]));
    expect(bodies(await subscription.receive(1, 500))).toEqual(["m1"]);
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

  it("memory - a message larger than maxMessageBytes fails in its slot", async () => {
    const { transport } = await brokerWithTransport({}, { capabilities: { maxMessageBytes: 64 } });
    await transport.bind("g", ["t"]);
    const [big, small] = await transport.publish([{ topic: "t", id: "big", key: undefined, wire: wire("x".repeat(100)) }, message("t", "small")]);
    expect(big).toMatchObject({ code: "MISSIVE_TOO_LARGE" });
    expect(small).toBeUndefined();
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

  it("memory - dead-lettering removes the message and unblocks its key; the store lists and counts with filters", async () => {
    const { broker, transport, subscription } = await deadLettered();
    expect(bodies(await subscription.receive(10, 500))).toEqual(["o2"]);
    const store = transport.deadLetters!;
    expect(await store.count()).toBe(2);
    expect(await store.count({ group: "billing" })).toBe(1);
    expect(await store.count({ topic: "invoice" })).toBe(1);
    expect(await store.list({ limit: 1 })).toHaveLength(1);
    const [entry] = await store.list({ group: "billing" });
    expect(entry).toMatchObject({ group: "billing", topic: "order", key: "k" });
    expect(entry!.wire.headers["missive-error-code"]).toBe("MISSIVE_PERMANENT");
    expect(Buffer.from(entry!.wire.body).toString()).toBe("o1");
    expect(entry!.deadLetteredAt).toBeGreaterThan(0);
    expect(broker.stats()).toMatchObject({ deadLettered: 2, deadLetters: 2 });
  });

  it("memory - replay puts the message back in its group with the same id, no diagnostics and a fresh attempt count", async () => {
    const { broker, transport, subscription } = await deadLettered();
    const store = transport.deadLetters!;
    const [entry] = await store.list({ group: "billing" });
    const [o2] = await subscription.receive(10, 500);
    await o2!.ack();
    expect(await store.replay([entry!.entryId, "no-such-entry"])).toBe(1);
    const [replayed] = await subscription.receive(10, 500);
    expect(bodyOf(replayed!)).toBe("o1");
    expect(replayed).toMatchObject({ attempt: 1, group: "billing" });
    expect(replayed!.wire.headers["ce-id"]).toBe("o1");
    expect(replayed!.wire.headers["x-kept"]).toBe("yes");
    expect(Object.keys(replayed!.wire.headers).filter((h) => h.startsWith("missive-"))).toEqual([]);
    expect(await store.count({ group: "billing" })).toBe(0);
    expect(broker.stats()).toMatchObject({ replayed: 1 });
  });

  it("memory - discard removes entries and says how many", async () => {
    const { transport } = await deadLettered();
    const store = transport.deadLetters!;
    const ids = (await store.list()).map((e) => e.entryId);
    expect(await store.discard([...ids, "no-such-entry"])).toBe(2);
    expect(await store.count()).toBe(0);
  });

  it("memory - every transport of a broker sees the same dead-letter store", async () => {
    const { broker } = await deadLettered();
    const other = await connected(broker);
    expect(await other.deadLetters!.count()).toBe(2);
  });
});

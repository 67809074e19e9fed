import { describe, expect, it, vi } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { hasNativeDeadLetters, hasReplyAddress } from "../../src/transport/abilities.js";
import { DEFAULT_MEMORY_CAPABILITIES, createMemoryBroker } from "../../src/transports/memory/index.js";
import { bodies, brokerWithTransport, connected, drainOnFakeTime, message } from "./memory-support.js";

const sub = (group: string, extra: { ordered?: boolean; leaseMs?: number } = {}) => ({ group, topics: ["t"], prefetch: 20, ordered: extra.ordered ?? true, leaseMs: extra.leaseMs ?? 20 });

describe("memory transport - capability overrides", () => {
  it("memory - defaults: native delay and dead letters, groups, key order, leases, no native reply address", async () => {
    const { transport } = await brokerWithTransport();
    expect(transport.simulated).toEqual(DEFAULT_MEMORY_CAPABILITIES);
    expect(transport.simulated).toMatchObject({ nativeDelay: true, nativeDeadLetter: true, consumerGroups: true, ordering: "key", leases: true });
    expect(transport.capabilities).toEqual({
      nativeDelay: true, ordering: "key", maxMessageBytes: DEFAULT_MEMORY_CAPABILITIES.maxMessageBytes, priorities: 10, attempts: "exact", leaseRenewal: "transport",
    });
    expect(hasNativeDeadLetters(transport)).toBe(true);
    expect(hasReplyAddress(transport)).toBe(false);
  });

  it("memory - fifo is simulated but the runtime sees no key order; dead letters off removes the ability", async () => {
    const broker = createMemoryBroker();
    const transport = broker.transport({ capabilities: { ordering: "fifo", nativeDeadLetter: false } });
    expect(transport.capabilities.ordering).toBe("none");
    expect(hasNativeDeadLetters(transport)).toBe(false);
    await transport.close();
  });

  it("memory - a bad override is a ConfigurationError", () => {
    const broker = createMemoryBroker();
    expect(() => broker.transport({ capabilities: { ordering: "bogus" as "key" } })).toThrow(ConfigurationError);
    expect(() => broker.transport({ capabilities: { maxMessageBytes: 0 } })).toThrow(ConfigurationError);
    expect(() => broker.transport({ capabilities: { attempts: "some" as "exact" } })).toThrow(ConfigurationError);
    expect(() => broker.transport({ capabilities: { leaseRenewal: "nobody" as "runtime" } })).toThrow(ConfigurationError);
  });

  it("memory - without nativeDelay: retry() and delayMs are ConfigurationErrors, and the delivery stays held", async () => {
    const { broker, transport } = await brokerWithTransport({}, { capabilities: { nativeDelay: false } });
    const subscription = await transport.subscribe(sub("g"));
    const [delayed, plain] = await transport.publish([message("t", "late", undefined, { delayMs: 10 }), message("t", "m1")]);
    expect(delayed).toBeInstanceOf(ConfigurationError);
    expect(plain).toBeUndefined();
    const [delivery] = await subscription.receive(10, 500);
    await expect(delivery!.retry(10, {})).rejects.toBeInstanceOf(ConfigurationError);
    await delivery!.ack();
    expect(broker.stats()).toMatchObject({ published: 1, acked: 1, retried: 0 });
  });

  it("memory - without nativeDeadLetter: no dead-letter store, deadLetter() is a ConfigurationError", async () => {
    const { transport } = await brokerWithTransport({}, { capabilities: { nativeDeadLetter: false } });
    expect(transport.deadLetters).toBeUndefined();
    const subscription = await transport.subscribe(sub("g"));
    await transport.publish([message("t", "m1")]);
    const [delivery] = await subscription.receive(1, 500);
    await expect(delivery!.deadLetter({})).rejects.toBeInstanceOf(ConfigurationError);
  });

  it("memory - ordering none: an ordered subscription is not held back by keys", async () => {
    const { transport } = await brokerWithTransport({}, { capabilities: { ordering: "none" } });
    const subscription = await transport.subscribe(sub("g"));
    await transport.publish([message("t", "a1", "a"), message("t", "a2", "a")]);
    expect(bodies(await subscription.receive(10, 500))).toEqual(["a1", "a2"]);
  });

  it("memory - ordering fifo: latency never reorders first deliveries, where key ordering lets other keys pass", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, "0")}`);
    const received = async (ordering: "fifo" | "key"): Promise<string[]> => {
      const { transport } = await brokerWithTransport({ seed: 7, faults: { maxDelayMs: 30 } }, { capabilities: { ordering } });
      const subscription = await transport.subscribe(sub("g"));
      await transport.publish(ids.map((id) => message("t", id, id)));
      return bodies(await drainOnFakeTime(subscription, ids.length));
    };
    vi.useFakeTimers();
    try {
      expect(await received("fifo")).toEqual(ids);
      const keyed = await received("key");
      expect([...keyed].sort()).toEqual(ids);
      expect(keyed).not.toEqual(ids);
    } finally {
      vi.useRealTimers();
    }
  });

  it("memory - without consumerGroups: one consumer per group at a time", async () => {
    const broker = createMemoryBroker();
    const overrides = { capabilities: { consumerGroups: false } };
    const [a, b] = [await connected(broker, overrides), await connected(broker, overrides)];
    const first = await a.subscribe(sub("g"));
    await expect(b.subscribe(sub("g"))).rejects.toBeInstanceOf(ConfigurationError);
    await b.subscribe(sub("other"));
    await first.close();
    await expect(b.subscribe(sub("g"))).resolves.toBeDefined();
  });

  it("memory - without leases: a dropped ack does not come back until the transport closes", async () => {
    const broker = createMemoryBroker({ seed: 3, faults: { dropAck: 1 } });
    const overrides = { capabilities: { leases: false } };
    const [a, b] = [await connected(broker, overrides), await connected(broker, overrides)];
    const holder = await a.subscribe(sub("g", { leaseMs: 10 }));
    const other = await b.subscribe(sub("g", { leaseMs: 10 }));
    await a.publish([message("t", "m1")]);
    const [delivery] = await holder.receive(1, 500);
    await delivery!.ack();
    expect(broker.stats().droppedAcks).toBe(1);
    expect(await other.receive(1, 50)).toEqual([]);
    const pending = other.receive(1, 1_000);
    await a.close();
    expect(await pending).toMatchObject([{ attempt: 2 }]);
  });

});

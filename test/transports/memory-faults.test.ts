import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LeaseLostError, isMissiveError } from "../../src/errors.js";
import type { Delivery, Subscription } from "../../src/transport/transport.js";
import { createMemoryBroker, createRng, type FaultOptions, type MemoryBrokerStats } from "../../src/transports/memory/index.js";
import { bodies, bodyOf, connected, drainOnFakeTime, message, receiveAtLeast } from "./memory-support.js";

const sub = (group: string, extra: { prefetch?: number; leaseMs?: number } = {}) => ({ group, topics: ["t"], prefetch: extra.prefetch ?? 10, ordered: true, leaseMs: extra.leaseMs ?? 20 });

describe("memory faults", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("rng - a seed replays the same sequence, another seed does not", () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 8 }, () => rng.int(1_000));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const rng = createRng(1);
    for (let i = 0; i < 1_000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(rng.chance(0)).toBe(false);
    expect(rng.chance(1)).toBe(true);
  });

  it("faults - invalid fault options are a ConfigurationError", () => {
    expect(() => createMemoryBroker({ faults: { dropAck: 2 } })).toThrow(expect.objectContaining({ code: "MISSIVE_CONFIG" }));
    expect(() => createMemoryBroker({ faults: { maxDelayMs: -1 } })).toThrow(expect.objectContaining({ code: "MISSIVE_CONFIG" }));
    expect(createMemoryBroker({ seed: 5 }).seed).toBe(5);
  });

  it("faults - dropAck: the ack resolves, is not applied, and the message comes back after its lease", async () => {
    const broker = createMemoryBroker({ seed: 1, faults: { dropAck: 1 } });
    const transport = await connected(broker);
    const subscription = await transport.subscribe(sub("g", { leaseMs: 30 }));
    await transport.publish([message("t", "m1", "k"), message("t", "m2", "k")]);
    const [first] = await subscription.receive(10, 500);
    const ackedAt = Date.now();
    await first!.ack();
    expect(broker.stats()).toMatchObject({ droppedAcks: 1, acked: 0, queues: { g: { depth: 2, inFlight: 1 } } });
    // m2 stays behind m1: the dropped ack did not remove m1 from the queue.
    const again = await subscription.receive(10, 1_000);
    expect(Date.now() - ackedAt).toBeGreaterThanOrEqual(20);
    expect(bodies(again)).toEqual(["m1"]);
    expect(again[0]).toMatchObject({ attempt: 2 });
    await first!.ack(); // settled as far as its consumer knows: a no-op
  });

  it("faults - duplicate: an unsettled message is handed out again; the first holder's settle loses its lease", async () => {
    const broker = createMemoryBroker({ seed: 2, faults: { duplicate: 1 } });
    const [a, b] = [await connected(broker), await connected(broker)];
    const first = await a.subscribe(sub("g"));
    const second = await b.subscribe(sub("g"));
    await a.publish([message("t", "m1", "k"), message("t", "m2", "k")]);
    const [original] = await first.receive(10, 500);
    const dup = await second.receive(10, 500);
    // Only m1 again: m2 is still held back behind its key.
    expect(bodies(dup)).toEqual(["m1"]);
    expect(dup[0]).toMatchObject({ attempt: 2 });
    expect(broker.stats()).toMatchObject({ duplicates: 1, delivered: 2 });
    await expect(original!.ack()).rejects.toBeInstanceOf(LeaseLostError);
    await dup[0]!.ack();
    expect(bodies(await first.receive(10, 500))).toEqual(["m2"]);
  });

  it("faults - duplicate never re-delivers a settled message", async () => {
    const broker = createMemoryBroker({ seed: 2, faults: { duplicate: 1 } });
    const [a, b] = [await connected(broker), await connected(broker)];
    const first = await a.subscribe(sub("g"));
    const second = await b.subscribe(sub("g"));
    await a.publish([message("t", "m1")]);
    const [original] = await first.receive(10, 500);
    await original!.ack();
    expect(await second.receive(10, 30)).toEqual([]);
    expect(broker.stats().duplicates).toBe(0);
  });

  it("faults - maxDelayMs reorders keys but never one key", async () => {
    vi.useFakeTimers();
    const broker = createMemoryBroker({ seed: 9, faults: { maxDelayMs: 30 } });
    const transport = await connected(broker);
    const subscription = await transport.subscribe(sub("g", { prefetch: 50 }));
    const keyed = Array.from({ length: 10 }, (_, i) => message("t", `a${i}`, "a"));
    const spread = Array.from({ length: 10 }, (_, i) => message("t", `s${i}`, `s${i}`));
    await transport.publish([...keyed, ...spread]);
    const got = bodies(await drainOnFakeTime(subscription, 20));
    expect(got.filter((id) => id.startsWith("a"))).toEqual(keyed.map((m) => m.id));
    const spreadOrder = got.filter((id) => id.startsWith("s"));
    expect([...spreadOrder].sort()).toEqual(spread.map((m) => m.id).sort());
    expect(spreadOrder).not.toEqual(spread.map((m) => m.id));
  });

  it("faults - crash: the settle rejects, everything the subscription held comes back at once, and it keeps receiving", async () => {
    const broker = createMemoryBroker({ seed: 4, faults: { crash: 1 } });
    const transport = await connected(broker);
    const subscription = await transport.subscribe(sub("g", { leaseMs: 60_000 }));
    await transport.publish([message("t", "m1", "a"), message("t", "m2", "b")]);
    const [m1, m2] = await subscription.receive(10, 500);
    await expect(m1!.ack()).rejects.toBeInstanceOf(LeaseLostError);
    await expect(m2!.ack()).rejects.toBeInstanceOf(LeaseLostError);
    expect(broker.stats()).toMatchObject({ crashes: 1, acked: 0, queues: { g: { depth: 2, inFlight: 0 } } });
    const again = await subscription.receive(10, 500);
    expect(bodies(again)).toEqual(["m1", "m2"]);
    expect(again.map((d) => d.attempt)).toEqual([2, 2]);
  });

  it("faults - transport.crash() abandons everything and is counted", async () => {
    const broker = createMemoryBroker();
    const [a, b] = [await connected(broker), await connected(broker)];
    const doomed = await a.subscribe(sub("g", { leaseMs: 20 }));
    await a.publish([message("t", "m1"), message("t", "m2")]);
    const held = await doomed.receive(10, 500);
    a.crash();
    a.crash(); // already dead
    // A dead connection delivers nothing: receive waits out its time (no hot loop), close() ends a wait.
    const started = Date.now();
    expect(await doomed.receive(10, 30)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const waiting = doomed.receive(10, 60_000);
    await doomed.close();
    expect(await waiting).toEqual([]);
    for (const delivery of held) await expect(delivery.ack()).rejects.toBeInstanceOf(LeaseLostError);
    const survivor = await b.subscribe(sub("g", { leaseMs: 20 }));
    expect(bodies(await receiveAtLeast(survivor, 2))).toEqual(["m1", "m2"]);
    expect(broker.stats().crashes).toBe(1);
  });
});

/**
 * One seeded schedule: 2 consumers (ordered, inbox) over 30 keyed messages,
 * all faults on, some first attempts retried. Runs on fake timers, so the
 * schedule depends on the seed alone.
 */
async function schedule(seed: number, faults: FaultOptions): Promise<{ stats: MemoryBrokerStats; effects: Map<string, string[]>; expected: Map<string, string[]> }> {
  const broker = createMemoryBroker({ seed, faults });
  const inbox = broker.inbox();
  const producer = await connected(broker);
  await producer.bind("g", ["t"]);
  const ids = Array.from({ length: 30 }, (_, i) => `m${String(i).padStart(2, "0")}`);
  const keyOf = (id: string): string => `k${Number(id.slice(1)) % 4}`;
  const expected = new Map<string, string[]>();
  for (const id of ids) expected.set(keyOf(id), [...(expected.get(keyOf(id)) ?? []), id]);
  const effects = new Map<string, string[]>();
  let stop = false;

  const handle = async (delivery: Delivery): Promise<void> => {
    const id = bodyOf(delivery);
    try {
      if (delivery.attempt === 1 && Number(id.slice(1)) % 5 === 0) return await delivery.retry(5, delivery.wire.headers);
      const outcome = await inbox.runOnce("g", id, delivery, (tx) => {
        tx.onCommit(() => effects.set(delivery.key!, [...(effects.get(delivery.key!) ?? []), id]));
      });
      if (outcome.duplicate) await delivery.ack();
    } catch (error) {
      if (!(isMissiveError(error) && error.code === "MISSIVE_LEASE_LOST")) throw error;
    }
  };
  const consume = async (subscription: Subscription): Promise<void> => {
    while (!stop) for (const delivery of await subscription.receive(4, 25)) await handle(delivery);
  };
  const consumers = await Promise.all([connected(broker), connected(broker)]);
  const subscriptions = await Promise.all(consumers.map((t) => t.subscribe(sub("g", { prefetch: 4, leaseMs: 30 }))));
  const loops = subscriptions.map(consume);
  await producer.publish(ids.map((id) => message("t", id, keyOf(id))));

  let recorded = 0;
  const done = (): boolean => {
    recorded = [...effects.values()].reduce((n, list) => n + list.length, 0);
    return recorded >= ids.length && broker.stats().queues["g"]?.depth === 0;
  };
  for (let step = 0; step < 20_000 && !done(); step++) await vi.advanceTimersByTimeAsync(5);
  const stats = broker.stats();
  stop = true;
  await vi.advanceTimersByTimeAsync(100);
  await Promise.all(loops);
  return { stats, effects, expected };
}

const ALL_FAULTS: FaultOptions = { dropAck: 0.2, duplicate: 0.2, maxDelayMs: 20, crash: 0.05 };

describe("memory faults - seeded schedules", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("faults - the same seed gives the same schedule and stats; another seed another one", async () => {
    vi.useFakeTimers();
    const first = await schedule(42, ALL_FAULTS);
    const replay = await schedule(42, ALL_FAULTS);
    expect(replay.stats).toEqual(first.stats);
    const others = await Promise.all([43, 44, 45].map(async (seed) => (await schedule(seed, ALL_FAULTS)).stats));
    expect(others.some((stats) => JSON.stringify(stats) !== JSON.stringify(first.stats))).toBe(true);
    // Every fault actually fires somewhere in these schedules.
    const all = [first.stats, ...others];
    const total = (field: "droppedAcks" | "duplicates" | "crashes"): number => all.reduce((n, stats) => n + stats[field], 0);
    expect(total("droppedAcks")).toBeGreaterThan(0);
    expect(total("duplicates")).toBeGreaterThan(0);
    expect(total("crashes")).toBeGreaterThan(0);
  });

  it("faults - under every fault, an ordered inbox consumer has each effect once, in key order", async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0x7fff_ffff }), async (seed) => {
        const { stats, effects, expected } = await schedule(seed, ALL_FAULTS);
        expect(effects).toEqual(expected);
        expect(stats.queues["g"]).toEqual({ depth: 0, inFlight: 0, scheduled: 0 });
        expect(stats.delivered).toBeGreaterThanOrEqual(30);
      }),
      { numRuns: 100 },
    );
  });
});

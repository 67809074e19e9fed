import { afterEach, describe, expect, it, vi } from "vitest";
import { noopLogger } from "../../observability/logger.js";
import { NatsDelivery, type DeliveryHost } from "./delivery.js";
import { OrderedGate } from "./ordered-gate.js";
import type { LockEntry, PartitionLocks, WriteResult } from "./partition-locks.js";
import { PartitionOwner } from "./partition-owner.js";
import type { PullSource } from "./subscription.js";

const STREAM = "T_orders";

/** Two partitions, lock writes that always win, and a member list the test changes. */
function world() {
  const others: string[] = [];
  const writes: Array<{ index: number; owner: string }> = [];
  const entries = new Map<number, LockEntry>();
  const locks = {
    read: (_group: string, index: number): Promise<LockEntry | undefined> => Promise.resolve(entries.get(index)),
    write: (_group: string, index: number, owner: string): Promise<WriteResult> => {
      writes.push({ index, owner });
      const seq = (entries.get(index)?.seq ?? 0) + 1;
      entries.set(index, { seq, owner });
      return Promise.resolve({ seq });
    },
    beat: (): Promise<void> => Promise.resolve(),
    members: (): Promise<string[]> => Promise.resolve([...others]),
    leave: (): Promise<void> => Promise.resolve(),
  } as unknown as PartitionLocks;
  const owner: PartitionOwner = new PartitionOwner({
    locks, group: "g", partitions: 2, log: noopLogger,
    probe: () => Promise.resolve({ pending: 0, ackWaitMs: 2_000 }),
    holding: (index): number => gate.holding(index),
    changed: () => undefined,
    givenBack: (index) => gate.givenBack(index),
  });
  const gate: OrderedGate = new OrderedGate(owner, noopLogger, "g");
  const naks: number[] = [];
  const host: DeliveryHost = {
    live: true,
    done: () => undefined,
    settle: (ackSubject, body) => {
      if (body === "-NAK") naks.push(Number(ackSubject.split(".")[5]));
      return Promise.resolve();
    },
    requeue: () => Promise.reject(new Error("a partition's delivery is given back in place, never copied")),
    storeDeadLetter: () => Promise.resolve(),
    releasesInPlace: (d) => gate.releasesInPlace(d),
  };
  const source = (partition: number): PullSource => ({ stream: STREAM, consumer: `g_P${partition}`, topic: "orders", partition, ensure: () => Promise.resolve(false) });
  const delivery = (partition: number, key: string, seq: number): NatsDelivery =>
    new NatsDelivery("orders", "g", { headers: {}, body: new Uint8Array() }, key, `$JS.ACK.${STREAM}.g_P${partition}.1.${seq}.${seq}.0.0`, { deliveries: 1, storedAt: 0, streamSeq: seq, attemptsBefore: 0 }, host);
  return { owner, gate, others, writes, naks, source, delivery };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("nats partition owner", () => {
  it("partition owner - a member above its share gives a partition back: no more pulls, hand-outs until no pull can deliver, then naks, then a free entry", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout", "Date"] });
    const w = world();
    await w.owner.start();
    expect(w.owner.ownedCount).toBe(2);
    const held = w.delivery(1, "k", 5);
    const buffered = w.delivery(1, "k", 6);
    const other = w.delivery(1, "j", 7);
    for (const d of [held, buffered, other]) expect(w.gate.admit(w.source(1), d)).toBe(true);
    const buffer = [held, buffered, other];
    expect(w.gate.pick(buffer, new Set(), 1)).toEqual([held]);

    // A second member: the share is one partition; the one holding the fewest (partition 0, nothing) would go first,
    // so partition 0 is given back, and partition 1 stays.
    w.others.push("m2");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.gate.mayPull(w.source(0))).toBe(false);
    expect(w.gate.mayPull(w.source(1))).toBe(true);
    // Nothing of partition 0 is unsettled here, but a pull sent before may still deliver: not freed yet.
    expect(w.writes.filter((x) => x.owner === "")).toEqual([]);
    const late = w.delivery(0, "q", 9);
    expect(w.gate.admit(w.source(0), late)).toBe(true);
    // Still handed out while a pull may deliver (as usual).
    expect(w.gate.pick([late], new Set(), 5)).toEqual([late]);
    const stuck = w.delivery(0, "q", 10);
    expect(w.gate.admit(w.source(0), stuck)).toBe(true);
    const zero = [stuck];
    await vi.advanceTimersByTimeAsync(6_000);
    // No pull can deliver any more: what is buffered goes back in place; the one handed out is waited for.
    expect(w.owner.givingBack(0)).toBe(true);
    expect(w.gate.pick(zero, new Set([late]), 5)).toEqual([]);
    expect(zero).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(w.naks).toEqual([10]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(w.writes.filter((x) => x.owner === "")).toEqual([]);
    expect(w.owner.ownedCount).toBe(2);
    late.finish();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.writes.filter((x) => x.owner === "")).toEqual([{ index: 0, owner: "" }]);
    expect(w.owner.ownedCount).toBe(1);
    expect(w.owner.owns(0)).toBe(false);
    // The partition kept was never disturbed.
    expect(w.gate.pick(buffer, new Set([held]), 5)).toEqual([other]);
    await w.owner.close(false);
  });

  it("partition owner - a member below its share claims free partitions up to it, and no more", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout", "Date"] });
    const w = world();
    w.others.push("m2", "m3");
    await w.owner.start();
    // Three members, two partitions: a share of one.
    expect(w.owner.ownedCount).toBe(1);
    w.others.splice(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.owner.ownedCount).toBe(2);
    await w.owner.close(true);
    expect(w.writes.filter((x) => x.owner === "").map((x) => x.index).sort()).toEqual([0, 1]);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { noopLogger } from "../../observability/logger.js";
import { NatsDelivery, type DeliveryHost } from "./delivery.js";
import { OrderedGate } from "./ordered-gate.js";
import type { PartitionLocks } from "./partition-locks.js";
import { PartitionOwner, type PartitionProbe } from "./partition-owner.js";
import type { PullSource } from "./subscription.js";

const STREAM = "T_orders";

/** A lone member: every lock write wins, and the server's pending count is what the test says. */
function world(pending: { value: number }, given: boolean) {
  // `given`: the partition's entry says it was given back cleanly (no wait by the clock), else there is none (a takeover).
  const entry = given ? { seq: 1, owner: "" } : undefined;
  const locks = {
    read: () => Promise.resolve(entry), write: () => Promise.resolve({ seq: 2 }),
    beat: () => Promise.resolve(), members: () => Promise.resolve([]), leave: () => Promise.resolve(),
  } as unknown as PartitionLocks;
  const owner: PartitionOwner = new PartitionOwner({
    locks, group: "g", partitions: 1, log: noopLogger,
    probe: (): Promise<PartitionProbe> => Promise.resolve({ pending: pending.value, ackWaitMs: 2_000 }),
    // Called only once the gate below exists (claims start with owner.start()).
    holding: (index): number => gate.holding(index),
    changed: () => undefined,
    givenBack: (index) => gate.givenBack(index),
  });
  const gate: OrderedGate = new OrderedGate(owner, noopLogger, "g");
  const host: DeliveryHost = {
    live: true,
    done: () => undefined,
    settle: () => Promise.resolve(),
    requeue: () => Promise.resolve(),
    storeDeadLetter: () => Promise.resolve(),
  };
  const source: PullSource = { stream: STREAM, consumer: "g_P0", topic: "orders", partition: 0, ensure: () => Promise.resolve(false) };
  const delivery = (key: string, seq: number): NatsDelivery =>
    new NatsDelivery("orders", "g", { headers: {}, body: new Uint8Array() }, key, `$JS.ACK.${STREAM}.g_P0.1.${seq}.${seq}.0.0`, { deliveries: 1, storedAt: 0, streamSeq: seq, attemptsBefore: 0 }, host);
  return { owner, gate, source, delivery };
}

const owners: PartitionOwner[] = [];
afterEach(async () => {
  for (const o of owners.splice(0)) await o.close(false);
});

async function started(pending: { value: number }, given = false): Promise<ReturnType<typeof world>> {
  const w = world(pending, given);
  owners.push(w.owner);
  await w.owner.start();
  return w;
}

describe("nats ordered gate", () => {
  it("ordered gate - a key's lowest stream sequence goes first, whatever order the pulls brought them in", async () => {
    const w = await started({ value: 0 });
    // A redelivery (the server's redelivery queue) arrives after a later message of its key that an earlier pull brought.
    const later = w.delivery("k", 7);
    const redelivered = w.delivery("k", 5);
    const other = w.delivery("j", 6);
    const buffer = [later, other, redelivered];
    for (const d of buffer) expect(w.gate.admit(w.source, d)).toBe(true);
    const first = w.gate.pick(buffer, new Set(), 10);
    expect(first).toEqual([other, redelivered]);
    redelivered.finish();
    expect(w.gate.pick(buffer, new Set(), 10)).toEqual([later]);
  });

  it("ordered gate - nothing of a partition is handed out while the server has more of it out than this member holds", async () => {
    const pending = { value: 0 };
    const w = await started(pending);
    // A reconnect: the server says three are out, this member holds one (two are elsewhere, e.g. lost on the wire).
    pending.value = 3;
    // Held still from the drop on, before the reconnect is reported: an old pull's arrival then is dropped, not handed out.
    w.owner.disconnected();
    expect(w.owner.fenced(0)).toBe(true);
    expect(w.gate.admit(w.source, w.delivery("j", 8))).toBe(false);
    await w.owner.reconnected();
    const d = w.delivery("k", 9);
    // Fenced by time now: an arrival is dropped (it comes back after its ack wait).
    expect(w.gate.admit(w.source, d)).toBe(false);
    expect(w.owner.fenced(0)).toBe(true);
  });

  it("ordered gate - an unverified partition waits for what it is owed, and may pull it past prefetch", async () => {
    const pending = { value: 2 };
    const w = await started(pending, true);
    // Given back cleanly (its naks wait in the server's redelivery queue: no wait by the clock), two deliveries out: not verified.
    expect(w.owner.fenced(0)).toBe(false);
    expect(w.gate.owed(w.source)).toBe(2);
    const d = w.delivery("k", 3);
    expect(w.gate.admit(w.source, d)).toBe(true);
    const buffer = [d];
    expect(w.gate.pick(buffer, new Set(), 10)).toEqual([]);
    expect(w.gate.owed(w.source)).toBe(1);
    const e = w.delivery("j", 4);
    expect(w.gate.admit(w.source, e)).toBe(true);
    buffer.push(e);
    // Every delivery out is here now: the next read of the pending count verifies the partition.
    await new Promise((r) => setTimeout(r, 250));
    w.gate.pick(buffer, new Set(), 10);
    await new Promise((r) => setTimeout(r, 20));
    expect(w.gate.pick(buffer, new Set(), 10)).toEqual([d, e]);
  });

  it("ordered gate - a second delivery of a message held here is not admitted (its ack wait ran out while it waited)", async () => {
    const w = await started({ value: 0 });
    expect(w.gate.admit(w.source, w.delivery("k", 5))).toBe(true);
    expect(w.gate.admit(w.source, w.delivery("k", 5))).toBe(false);
    expect(w.gate.holding(0)).toBe(1);
  });

  it("ordered gate - a nak's redelivery that arrives before the nak's reply is admitted, and waits until the nak is settled", async () => {
    const w = await started({ value: 0 });
    const first = w.delivery("k", 5);
    expect(w.gate.admit(w.source, first)).toBe(true);
    expect(w.gate.pick([first], new Set(), 10)).toEqual([first]);
    // The release in place: the nak is out, its reply not read yet; the server has already redelivered.
    expect(w.gate.releasesInPlace(first)).toBe(true);
    first.status = "settling";
    first.settleSent = true;
    const again = w.delivery("k", 5);
    expect(w.gate.admit(w.source, again)).toBe(true);
    const held = new Set([first]);
    expect(w.gate.pick([again], held, 10)).toEqual([]);
    first.finish();
    expect(w.gate.pick([again], new Set(), 10)).toEqual([again]);
    expect(w.gate.released({ stream: STREAM, consumer: "g_P0", deliveries: 2, streamSeq: 5, storedAt: 0 })).toBe(1);
  });
});

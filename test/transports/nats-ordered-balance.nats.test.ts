/**
 * An ordered NATS group shares its partitions among its members (ADR 012):
 * each member counts the group and owns at most ceil(partitions / members),
 * giving back what is above it cleanly. Members in one process, each with a
 * connection of its own, on the shared server (a prefix of the test's own):
 * a second member joins the first, a third joins and leaves again, while a
 * keyed stream runs. Who owns what is read from the lock entries on the
 * server; per key, every handler run is checked against the runs before it
 * (none of its key running at the same time, none later handled before it).
 */
import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { PartitionLocks } from "../../src/transports/nats/partition-locks.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { removeNatsPrefix } from "../support/nats.js";

const SERVER = "127.0.0.1:4222";
const PARTITIONS = 8;
const KEYS = 40;
const prefix = `bal-nats-${randomUUID().slice(0, 8)}`;
const group = `billing-${randomUUID().slice(0, 8)}`;
const buses: Bus[] = [];
let nc: NatsConnection | undefined;

afterAll(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
  await nc?.close();
  await removeNatsPrefix(SERVER, prefix);
});

/** What the handlers saw, per key: order violations (a later message handled first) and overlaps (two at once). */
function createRecorder() {
  const highest = new Map<string, number>();
  const running = new Map<string, number>();
  const handled = new Set<string>();
  const by = new Map<string, number>();
  const samples: string[] = [];
  let violations = 0;
  let overlaps = 0;
  return {
    start(member: string, key: string, seq: number): void {
      if ((running.get(key) ?? 0) > 0) overlaps++;
      running.set(key, (running.get(key) ?? 0) + 1);
      const id = `${key}/${seq}`;
      if (!handled.has(id) && seq < (highest.get(key) ?? -1)) {
        violations++;
        if (samples.length < 5) samples.push(`${key}: ${seq} by ${member} after ${highest.get(key)}`);
      }
      handled.add(id);
      highest.set(key, Math.max(seq, highest.get(key) ?? -1));
      by.set(member, (by.get(member) ?? 0) + 1);
    },
    end(key: string): void {
      running.set(key, (running.get(key) ?? 1) - 1);
    },
    handled,
    samples,
    /** Handler runs per member so far. */
    by: (member: string): number => by.get(member) ?? 0,
    get violations(): number {
      return violations;
    },
    get overlaps(): number {
      return overlaps;
    },
  };
}

type Recorder = ReturnType<typeof createRecorder>;

async function member(name: string, rec: Recorder): Promise<Bus> {
  const warn = (o: unknown, m?: string): void => console.warn(`[${name}]`, m, JSON.stringify(o));
  const bus = await missive({
    service: `balance-${name}`,
    transport: natsTransport({ servers: [SERVER], prefix, partitions: PARTITIONS }),
    logger: { debug: () => undefined, info: () => undefined, warn, error: warn },
  });
  buses.push(bus);
  await bus.consume(OrderPlaced, { group, ordered: true, concurrency: 8, lease: "5s" }, async (order) => {
    rec.start(name, order.orderId, order.seq);
    try {
      await new Promise((r) => setTimeout(r, Math.random() * 4));
    } finally {
      rec.end(order.orderId);
    }
  }).ready;
  return bus;
}

/** Partitions per owner (member id), read from the lock entries; a free or missing entry is not counted. */
async function owners(locks: PartitionLocks): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < PARTITIONS; i++) {
    const entry = await locks.read(group, i);
    if (entry !== undefined && entry.owner !== "") out.set(entry.owner, (out.get(entry.owner) ?? 0) + 1);
  }
  return out;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Owners once every partition is owned by `count` members, none above the share; undefined before. */
function balanced(shares: Map<string, number>, count: number): Map<string, number> | undefined {
  const total = [...shares.values()].reduce((a, b) => a + b, 0);
  const most = Math.max(0, ...shares.values());
  return shares.size === count && total === PARTITIONS && most <= Math.ceil(PARTITIONS / count) ? shares : undefined;
}

describe("nats - ordered group balancing", () => {
  it("nats - members share an ordered group's partitions, a third joins and leaves, per-key order holds throughout", async () => {
    nc = await connect({ servers: [SERVER] });
    const locks = new PartitionLocks(nc, natsNames(prefix), 1);
    const rec = createRecorder();
    await member("a", rec);

    // A keyed stream for the whole test: seq per key counts up in publish order.
    const producer = await missive({ service: "balance-producer", transport: natsTransport({ servers: [SERVER], prefix, partitions: PARTITIONS }) });
    buses.push(producer);
    const confirmed = new Set<string>();
    let publishing = true;
    const seqs = new Map<string, number>();
    const stream = (async () => {
      for (let n = 0; publishing; n++) {
        const key = `k${n % KEYS}`;
        const seq = seqs.get(key) ?? 0;
        seqs.set(key, seq + 1);
        await producer.publish(OrderPlaced, { orderId: key, seq, totalCents: n });
        confirmed.add(`${key}/${seq}`);
        if (n % 20 === 19) await new Promise((r) => setTimeout(r, 10));
      }
    })();

    // Alone, the first member owns every partition.
    const alone = await until("the first member to own every partition", 10_000, async () => balanced(await owners(locks), 1));
    const [idA] = [...alone.keys()];

    let since = Date.now();
    await member("b", rec);
    const two = await until("two members owning half each", 30_000, async () => balanced(await owners(locks), 2));
    expect([...two.values()]).toEqual([PARTITIONS / 2, PARTITIONS / 2]);
    expect(two.has(idA!)).toBe(true);
    const took = [Date.now() - since];
    const bBefore = rec.by("b");
    await until("the second member to handle messages", 10_000, () => Promise.resolve(rec.by("b") > bBefore + 20 ? true : undefined));

    since = Date.now();
    const c = await member("c", rec);
    const three = await until("three members sharing the partitions", 30_000, async () => balanced(await owners(locks), 3));
    took.push(Date.now() - since);
    expect(Math.min(...three.values())).toBeGreaterThan(0);
    const cBefore = rec.by("c");
    await until("the third member to handle messages", 10_000, () => Promise.resolve(rec.by("c") > cBefore + 20 ? true : undefined));

    since = Date.now();
    await c.close();
    buses.splice(buses.indexOf(c), 1);
    const after = await until("the two left to share the partitions again", 30_000, async () => balanced(await owners(locks), 2));
    took.push(Date.now() - since);
    // The same two members as before the third joined, half each again.
    expect(new Set(after.keys())).toEqual(new Set(two.keys()));
    expect([...after.values()]).toEqual([PARTITIONS / 2, PARTITIONS / 2]);
    const [aAfter, bAfter] = [rec.by("a"), rec.by("b")];
    await until("both to handle messages again", 10_000, () => Promise.resolve(rec.by("a") > aAfter + 20 && rec.by("b") > bAfter + 20 ? true : undefined));

    publishing = false;
    await stream;
    await until("every confirmed message to be handled", 60_000, () => Promise.resolve([...confirmed].every((id) => rec.handled.has(id)) ? true : undefined));
    const lost = [...confirmed].filter((id) => !rec.handled.has(id)).length;
    console.log(`[balance] nats: published=${confirmed.size} by a=${rec.by("a")} b=${rec.by("b")} c=${rec.by("c")} shares two=${JSON.stringify([...two.values()])} three=${JSON.stringify([...three.values()])} after=${JSON.stringify([...after.values()])} balanced_after_ms=${JSON.stringify(took)} order_violations=${rec.violations} overlaps=${rec.overlaps} lost=${lost}`);
    expect(lost).toBe(0);
    expect(rec.samples).toEqual([]);
    expect(rec.violations).toBe(0);
    expect(rec.overlaps).toBe(0);
  }, 180_000);
});

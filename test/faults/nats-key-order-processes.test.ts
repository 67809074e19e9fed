/**
 * Key order across processes on NATS JetStream (ADR 012): consumer
 * PROCESSES of one ordered group on the shared server (a prefix of the
 * test's own), many keys, random handler times and transient failures
 * retried with short delays. Keyed messages go to partition subjects; one
 * process at a time owns a partition (a compare-and-set lock entry that
 * expires), hands out one message per key, and holds a retry in-process.
 * The two share the partitions (each owns half). The first is SIGKILLed
 * half-way, mid-handler: the second takes its partitions over
 * once their entries expire, waits out the ack wait of what the dead one
 * held (those come back first), and goes on. Checked from the effects both
 * processes commit into one SQLite file (rowid order is commit order):
 * every key in publish order, nothing lost, no double effect. The same run
 * with `ordered: false` breaks key order, so the check bites.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import type { NatsOrderedConsumerArgs, NatsOrderedConsumerMessage } from "../fixtures/nats-ordered-consumer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { removeNatsPrefix } from "../support/nats.js";
import { effectsByPid, keyOrderWorlds, startOrderedConsumer, type KeyOrderWorld, type StartedConsumer } from "./key-order-support.js";
import { publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

const SERVER = "127.0.0.1:4222";
const GROUP = "billing";
/** Few partitions: the survivor takes them all over, and the test stays short. */
const PARTITIONS = 4;
const world = keyOrderWorlds("nats", () => `order-nats-${randomUUID().slice(0, 8)}`, (p) => removeNatsPrefix(SERVER, p));

function startConsumer(w: KeyOrderWorld, name: string, options: Partial<NatsOrderedConsumerArgs> = {}): Promise<StartedConsumer> {
  const args: NatsOrderedConsumerArgs = {
    server: SERVER, prefix: w.prefix, partitions: PARTITIONS, effects: w.effects, group: GROUP, journal: join(w.dir, `${name}.journal`), concurrency: 16, workMs: 8, failRate: 0.05, ...options,
  };
  return startOrderedConsumer("nats-ordered-consumer", name, args);
}

async function publishAll(w: KeyOrderWorld, checker: ReturnType<typeof createChecker>, count: number): Promise<Awaited<ReturnType<typeof publishKeyed>>> {
  const bus = await missive({ service: "key-order-producer", transport: natsTransport({ servers: [SERVER], prefix: w.prefix }) });
  try {
    return await publishKeyed(bus, checker, { count, keys: 60 });
  } finally {
    await bus.close();
  }
}

describe("nats - key order across processes", () => {
  it("nats - one of two ordered consumer processes SIGKILLed half-way: the other takes over its partitions, order per key holds, nothing lost", async () => {
    const w = world();
    const checker = createChecker();
    const victim = await startConsumer(w, "victim", { stallAfter: 600 });
    const survivor = await startConsumer(w, "survivor");
    const publishing = publishAll(w, checker, 3000);
    await killOnMessage(victim.child, (m: NatsOrderedConsumerMessage) => "stalled" in m, 90_000, "the victim stalled mid-handler");
    const published = await publishing;
    expect(published.rejected).toBe(0);
    const drained = await settled(w.effects, published.confirmedIds, 120_000);

    const back = readBack(w.effects, checker, [victim.journal, survivor.journal]);
    const r = checker.check();
    const byPid = effectsByPid(w.effects);
    console.log(`[key-order] nats sigkill: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} retried=${victim.progress.retried + survivor.progress.retried} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.confirmed).toBe(3000);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    // Both did work: the victim until it was killed, the survivor after taking its partitions over.
    expect(byPid.size).toBe(2);
  }, 240_000);
});

// Not a proof of the promise (its title stays out of the guarantees matrix): the control that shows the check bites.
describe("nats - the same processes unordered", () => {
  it("nats - the same two processes with ordered off: keys interleave across them and retries are overtaken (the check above bites)", async () => {
    const w = world();
    const checker = createChecker();
    const a = await startConsumer(w, "a", { ordered: false });
    const b = await startConsumer(w, "b", { ordered: false });
    const published = await publishAll(w, checker, 1500);
    expect(published.rejected).toBe(0);
    const drained = await settled(w.effects, published.confirmedIds, 90_000);
    const back = readBack(w.effects, checker, [a.journal, b.journal]);
    const r = checker.check();
    console.log(`[key-order] nats ordered off: drained=${drained} by_pid=${JSON.stringify([...effectsByPid(w.effects).values()])} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(back.orderViolations).toBeGreaterThan(0);
  }, 180_000);
});

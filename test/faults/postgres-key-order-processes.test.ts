/**
 * Key order across processes on PostgreSQL: two consumer PROCESSES of one
 * ordered group on one database, many keys, random handler times and
 * transient failures retried with short delays. An ordered claim sees only
 * each key's head row (the `blocked` column, kept by triggers under a
 * per-key advisory lock), in whichever process claims, so a retrying message
 * holds back its key in both processes. Checked from the effects both
 * processes commit into a shared effects file (rowid order is commit order):
 * every key in publish order, nothing lost, no double effect, both processes
 * did work; and the same with one process SIGKILLed half-way (its leased
 * rows come back after the lease, to the survivor).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { PostgresOrderedConsumerArgs, PostgresOrderedConsumerMessage } from "../fixtures/postgres-ordered-consumer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { effectsByPid, keyOrderWorlds, startOrderedConsumer, type KeyOrderWorld, type StartedConsumer } from "./key-order-support.js";
import { PG_URL, dropPrefix, pgPrefix, pgQuery } from "../support/postgres.js";
import { publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

const GROUP = "billing";
const world = keyOrderWorlds("pg", () => pgPrefix(), (p) => dropPrefix(p));


function startConsumer(w: KeyOrderWorld, name: string, options: Partial<PostgresOrderedConsumerArgs> = {}): Promise<StartedConsumer> {
  const args: PostgresOrderedConsumerArgs = {
    url: PG_URL, tablePrefix: w.prefix, effects: w.effects, group: GROUP, journal: join(w.dir, `${name}.journal`), concurrency: 16, workMs: 8, failRate: 0.05, ...options,
  };
  return startOrderedConsumer("postgres-ordered-consumer", name, args);
}


async function declare(w: KeyOrderWorld): Promise<void> {
  const setup = await missive({ service: "key-order-setup", transport: postgresTransport({ connectionString: PG_URL, tablePrefix: w.prefix }) });
  await setup.declare(OrderPlaced, GROUP);
  await setup.close();
}

async function publishAll(w: KeyOrderWorld, checker: ReturnType<typeof createChecker>): Promise<Awaited<ReturnType<typeof publishKeyed>>> {
  const bus = await missive({ service: "key-order-producer", transport: postgresTransport({ connectionString: PG_URL, tablePrefix: w.prefix }) });
  try {
    return await publishKeyed(bus, checker, { count: 3000, keys: 60 });
  } finally {
    await bus.close();
  }
}

async function queueDepth(w: KeyOrderWorld): Promise<number> {
  const r = await pgQuery(`SELECT count(*)::int AS n FROM "${w.prefix}queue"`);
  return (r.rows[0] as { n: number }).n;
}

describe("postgres - key order across processes", () => {
  it("postgres - two consumer processes of one ordered group: every key in publish order through retries, both did work, nothing lost or doubled", async () => {
    const w = world();
    const checker = createChecker();
    await declare(w);
    const a = await startConsumer(w, "a");
    const b = await startConsumer(w, "b");
    const published = await publishAll(w, checker);
    expect(published.rejected).toBe(0);
    const drained = await settled(w.effects, published.confirmedIds, 90_000);

    const back = readBack(w.effects, checker, [a.journal, b.journal]);
    const r = checker.check();
    const byPid = effectsByPid(w.effects);
    console.log(`[key-order] postgres two processes: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} retried=${a.progress.retried + b.progress.retried} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    for (const n of byPid.values()) expect(n).toBeGreaterThan(300);
    expect(a.progress.retried + b.progress.retried).toBeGreaterThan(0);
    expect(await queueDepth(w)).toBe(0);
  }, 180_000);

  it("postgres - one of two ordered consumer processes SIGKILLed half-way: its keys come back to the other after the lease, order per key holds, nothing lost", async () => {
    const w = world();
    const checker = createChecker();
    await declare(w);
    const victim = await startConsumer(w, "victim", { stallAfter: 600 });
    const survivor = await startConsumer(w, "survivor");
    const publishing = publishAll(w, checker);
    await killOnMessage(victim.child, (m: PostgresOrderedConsumerMessage) => "stalled" in m, 90_000, "the victim stalled mid-handler");
    const published = await publishing;
    expect(published.rejected).toBe(0);
    const drained = await settled(w.effects, published.confirmedIds, 90_000);

    const back = readBack(w.effects, checker, [victim.journal, survivor.journal]);
    const r = checker.check();
    const byPid = effectsByPid(w.effects);
    console.log(`[key-order] postgres sigkill: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.confirmed).toBe(3000);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    expect(await queueDepth(w)).toBe(0);
  }, 180_000);
});

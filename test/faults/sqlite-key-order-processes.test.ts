/**
 * Key order across processes on SQLite: two consumer PROCESSES of one ordered
 * group on one file, many keys, random handler times and transient failures
 * retried with short delays. An ordered claim sees only each key's head row
 * (the `blocked` column, kept by triggers), in whichever process claims, so a
 * retrying message holds back its key in both processes. Checked from the
 * effects both processes commit into a shared effects file (rowid order is
 * commit order): every key in publish order, nothing lost, no double effect,
 * both processes did work; and the same with one process SIGKILLed half-way
 * (its leased rows come back after the lease, to the survivor).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import type { SqliteOrderedConsumerArgs, SqliteOrderedConsumerMessage } from "../fixtures/sqlite-ordered-consumer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { effectsByPid, startOrderedConsumer, type StartedConsumer } from "./key-order-support.js";
import { publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";
import { GROUP, declareGroup, queueDepth, sqliteFaultFiles, type FaultFile } from "./sqlite-fault-support.js";

const files = sqliteFaultFiles();


function startConsumer(file: FaultFile, name: string, options: Partial<SqliteOrderedConsumerArgs> = {}): Promise<StartedConsumer> {
  const args: SqliteOrderedConsumerArgs = {
    path: file.path, effects: join(file.dir, "effects.db"), group: GROUP, journal: file.journal(name), concurrency: 16, workMs: 8, failRate: 0.05, ...options,
  };
  return startOrderedConsumer("sqlite-ordered-consumer", name, args);
}


async function publishAll(file: FaultFile, checker: ReturnType<typeof createChecker>): Promise<Awaited<ReturnType<typeof publishKeyed>>> {
  const bus = await missive({ service: "key-order-producer", transport: sqliteTransport({ path: file.path }) });
  try {
    return await publishKeyed(bus, checker, { count: 3000, keys: 60 });
  } finally {
    await bus.close();
  }
}

describe("sqlite - key order across processes", () => {
  it("sqlite - two consumer processes of one ordered group: every key in publish order through retries, both did work, nothing lost or doubled", async () => {
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const a = await startConsumer(file, "a");
    const b = await startConsumer(file, "b");
    const published = await publishAll(file, checker);
    expect(published.rejected).toBe(0);
    const effectsPath = join(file.dir, "effects.db");
    const drained = await settled(effectsPath, published.confirmedIds, 90_000);

    const back = readBack(effectsPath, checker, [a.journal, b.journal]);
    const r = checker.check();
    const byPid = effectsByPid(effectsPath);
    console.log(`[key-order] sqlite two processes: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} retried=${a.progress.retried + b.progress.retried} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    for (const n of byPid.values()) expect(n).toBeGreaterThan(300);
    expect(a.progress.retried + b.progress.retried).toBeGreaterThan(0);
    expect(queueDepth(file.path)).toBe(0);
  }, 180_000);

  it("sqlite - one of two ordered consumer processes SIGKILLed half-way: its keys come back to the other after the lease, order per key holds, nothing lost", async () => {
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const victim = await startConsumer(file, "victim", { stallAfter: 600 });
    const survivor = await startConsumer(file, "survivor");
    const publishing = publishAll(file, checker);
    await killOnMessage(victim.child, (m: SqliteOrderedConsumerMessage) => "stalled" in m, 90_000, "the victim stalled mid-handler");
    const published = await publishing;
    expect(published.rejected).toBe(0);
    const effectsPath = join(file.dir, "effects.db");
    const drained = await settled(effectsPath, published.confirmedIds, 90_000);

    const back = readBack(effectsPath, checker, [victim.journal, survivor.journal]);
    const r = checker.check();
    const byPid = effectsByPid(effectsPath);
    console.log(`[key-order] sqlite sigkill: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.confirmed).toBe(3000);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    expect(queueDepth(file.path)).toBe(0);
  }, 180_000);
});

/**
 * Fault (issue 7, proof 4) on the SQLite transport: the spool (maxMessages
 * 200) fills while another process holds the database's write lock
 * (test/fixtures/sqlite-locker.ts; busy timeout 50 ms). There is no
 * network, so connection resets (proof 2) do not apply here.
 *
 * With `whenFull: "reject"`, publishes beyond the bound reject at once with
 * SpoolFullError (MISSIVE_SPOOL_FULL); the spooled ones are all in the group
 * queue once the lock is released, the rejected ones never. With
 * `whenFull: "wait"`, the publishes beyond the bound wait (none settles
 * while the spool is full) and complete once the lock is released. Nothing
 * is lost.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createChecker } from "../support/checker.js";
import { sleep, waitFor } from "../support/wait.js";
import { declareGroup, sqliteFaultFiles } from "./sqlite-fault-support.js";
import { countDeliveries, recordOutcomes, spoolPublisher, sqliteQueue, startLocker, startSpoolProducer, tally } from "./spool-fault-support.js";

const files = sqliteFaultFiles();
const BOUND = 200;

async function setUp(whenFull: "wait" | "reject") {
  const file = files();
  await declareGroup(file.path);
  const locker = await startLocker(file.path);
  const producer = await startSpoolProducer({
    transport: { sqlite: `sqlite://${file.path}?busyTimeoutMs=50` },
    publisher: spoolPublisher(join(file.dir, "producer.spool.db"), { maxMessages: BOUND, whenFull }),
  });
  await locker.lock();
  return { file, locker, producer };
}

describe("faults - sqlite spool full", () => {
  it("faults - sqlite spool: full with whenFull reject: SpoolFullError beyond the bound, the spooled ones arrive, the rejected ones never", async () => {
    const started = Date.now();
    const checker = createChecker();
    const { file, locker, producer } = await setUp("reject");
    const published = await producer.publish({ count: 300, keys: 10, keyPrefix: "k", window: 10 }, 60_000);
    const full = await producer.status();
    await locker.release();
    const status = await producer.drained(60_000);
    const delivered = sqliteQueue(file.path, producer.outcomes);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    const rejected = producer.outcomes.filter((o) => o.result === "rejected");
    console.log(`[fault] sqlite spool full (reject): published=300 bound=${BOUND} spooled=${t.spooled} confirmed=${t.confirmed} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} first_rejected_seq=${rejected[0]?.seq} spool_depth_when_full=${full.spool?.messages} delivered_distinct=${counts.distinct} duplicates=${counts.duplicates} lost=${r.lost.length} rejected_and_delivered=${r.rejectedButDelivered.length} order_violations=${counts.orderViolations} parked=${status.spool?.parked} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(published).toEqual({ confirmed: 0, spooled: BOUND, rejected: 300 - BOUND });
    expect(full.spool?.messages).toBe(BOUND);
    for (const o of rejected) expect(`${o.name}/${o.code}`).toBe("SpoolFullError/MISSIVE_SPOOL_FULL");
    expect(counts.distinct).toBe(BOUND);
    expect(counts.duplicates).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.rejectedButDelivered).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 60_000);

  it("faults - sqlite spool: full with whenFull wait: publishes beyond the bound wait, then complete once the lock is released; nothing lost", async () => {
    const started = Date.now();
    const checker = createChecker();
    const { file, locker, producer } = await setUp("wait");
    const run = producer.publish({ count: 500, keys: 10, keyPrefix: "k", window: 50 }, 60_000);
    await waitFor(() => producer.outcomes.length >= BOUND - 50, 20_000, "the spool to fill");
    await sleep(1000);
    const settledWhenFull = producer.outcomes.length;
    await sleep(1500);
    const settledWhileFull = producer.outcomes.length;
    const full = await producer.status();
    const releasedAt = await locker.release();
    const published = await run;
    const completedMs = Date.now() - releasedAt;
    const status = await producer.drained(60_000);
    const delivered = sqliteQueue(file.path, producer.outcomes);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    console.log(`[fault] sqlite spool full (wait): published=500 bound=${BOUND} settled_when_full=${settledWhenFull} settled_1500ms_later=${settledWhileFull} spool_depth_when_full=${full.spool?.messages} waited_ms_after_release=${completedMs} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} delivered_distinct=${counts.distinct} duplicates=${counts.duplicates} lost=${r.lost.length} order_violations=${counts.orderViolations} parked=${status.spool?.parked} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(settledWhileFull).toBe(settledWhenFull); // backpressure: the rest waited
    expect(settledWhileFull).toBeGreaterThan(BOUND - 50); // a waiting chunk holds at most a window of publishes
    expect(full.spool?.messages).toBe(settledWhileFull);
    expect(full.spool?.messages).toBeLessThanOrEqual(BOUND);
    expect(published.rejected).toBe(0);
    expect(published.confirmed + published.spooled).toBe(500);
    expect(counts.distinct).toBe(500);
    expect(counts.duplicates).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 60_000);
});

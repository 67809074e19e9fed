/**
 * Fault (issue 7, proof 1) on the SQLite transport. There is no network
 * here: "broker unreachable" is another process holding the database's
 * write lock (test/fixtures/sqlite-locker.ts, `BEGIN EXCLUSIVE`), and the
 * producer's busy timeout is 50 ms, so each publish attempt fails fast with
 * a retryable ConnectionError. Connection resets (proof 2) have no SQLite
 * counterpart and are not tested here.
 *
 * Lock held, 1,000 publishes: each resolves `spooled`. The producer process
 * is SIGKILLed; its spool file holds the 1,000 rows and the group queue
 * none. The lock is released, a new producer process opens the same spool
 * file and flushes it on start: 1,000 of 1,000 distinct ids in the group
 * queue, none twice, each key in publish order.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { createChecker } from "../support/checker.js";
import { declareGroup, sqliteFaultFiles } from "./sqlite-fault-support.js";
import { countDeliveries, downEvents, eventLine, recordOutcomes, spoolPublisher, sqliteQueue, startLocker, startSpoolProducer, tally } from "./spool-fault-support.js";

const files = sqliteFaultFiles();
const COUNT = 1000;

describe("faults - sqlite spool across a producer restart", () => {
  it("faults - sqlite spool: database locked, 1,000 publishes spooled, producer SIGKILLed, lock released, producer restarted: 1,000 of 1,000 arrive", async () => {
    const started = Date.now();
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const spoolPath = join(file.dir, "producer.spool.db");
    const args = { transport: { sqlite: `sqlite://${file.path}?busyTimeoutMs=50` }, publisher: spoolPublisher(spoolPath) };
    const locker = await startLocker(file.path);

    const first = await startSpoolProducer(args);
    const lockedAt = await locker.lock();
    const published = await first.publish({ count: COUNT, keys: 10, keyPrefix: "k", window: 100 }, 60_000);
    await first.kill();
    const spool = openSqliteSpool({ path: spoolPath, readonly: true });
    const rowsAfterKill = spool.depth().messages;
    spool.close();
    const queuedWhileLocked = sqliteQueue(file.path, first.outcomes).length;

    const releasedAt = await locker.release();
    const second = await startSpoolProducer(args);
    const status = await second.drained(60_000);
    const drainedMs = Date.now() - releasedAt;
    const delivered = sqliteQueue(file.path, first.outcomes);

    recordOutcomes(checker, first.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(first.outcomes);
    const down = downEvents(first.events, lockedAt);
    console.log(`[fault] sqlite spool restart: published=${COUNT} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} spool_rows_after_sigkill=${rowsAfterKill} queued_while_locked=${queuedWhileLocked} down_after_ms=${down.first === undefined ? "none" : down.first - lockedAt} flushed_by_restart_in_ms=${drainedMs} delivered_distinct=${counts.distinct} deliveries=${counts.deliveries} duplicates=${counts.duplicates} order_violations=${counts.orderViolations} parked=${status.spool?.parked} events1=${eventLine(first.events, lockedAt)} events2=${eventLine(second.events, releasedAt)} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(published).toEqual({ confirmed: 0, spooled: COUNT, rejected: 0 });
    expect(rowsAfterKill).toBe(COUNT);
    expect(queuedWhileLocked).toBe(0);
    expect(status.spool?.parked).toBe(0);
    expect(counts.distinct).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.duplicates).toBe(0);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 90_000);
});

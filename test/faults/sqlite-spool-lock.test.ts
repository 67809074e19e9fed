/**
 * Fault (issue 7, proof 3) on the SQLite transport: the database's write
 * lock held for 10 s by another process (test/fixtures/sqlite-locker.ts)
 * during a paced publish stream of the spool producer (busy timeout 50 ms,
 * outageAfter 1 s). This is SQLite's "broker unreachable"; there is no
 * network, so connection resets (proof 2) do not apply and are not tested.
 *
 * The outage is noticed within the bound (the `broker: down` event at most
 * outageAfter + 2 s after the lock was taken, none before it; in practice
 * the first publish that meets the lock fails after the busy timeout);
 * every publish called while the lock is held resolves `spooled`, promptly;
 * once it is released the spool drains and every confirmed or spooled id is
 * in the group queue, each key in publish order.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createChecker } from "../support/checker.js";
import { sleep } from "../support/wait.js";
import { declareGroup, sqliteFaultFiles } from "./sqlite-fault-support.js";
import {
  countDeliveries, downEvents, eventLine, OUTAGE_AFTER_MS, recordOutcomes, spoolPublisher, sqliteQueue, startLocker, startSpoolProducer, tally,
} from "./spool-fault-support.js";

const files = sqliteFaultFiles();
const LOCK_MS = 10_000;
/** Slack on the outage bound: timers and IPC on a busy 2-core machine. */
const SLACK_MS = 2000;

describe("faults - sqlite spool through a held write lock", () => {
  it("faults - sqlite spool: the database locked for 10 s during a publish stream: noticed within outageAfter, publishes spooled, all arrive afterwards", async () => {
    const started = Date.now();
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const locker = await startLocker(file.path);
    const producer = await startSpoolProducer({
      transport: { sqlite: `sqlite://${file.path}?busyTimeoutMs=50` },
      publisher: spoolPublisher(join(file.dir, "producer.spool.db")),
    });

    // 200 publishes a second for 14 s: 1.5 s before the lock, 10 s under it, 2.5 s after.
    const stream = producer.publish({ count: 2800, keys: 20, keyPrefix: "k", window: 1000, intervalMs: 5 }, 120_000);
    await sleep(1500);
    const lockAsked = Date.now();
    const lockedAt = await locker.lock();
    await sleep(LOCK_MS);
    const releaseAsked = Date.now();
    const releasedAt = await locker.release();
    const published = await stream;
    const status = await producer.drained(60_000);
    const delivered = sqliteQueue(file.path, producer.outcomes);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    const down = downEvents(producer.events, lockAsked);
    // Called while the lock was surely held.
    const during = producer.outcomes.filter((o) => o.calledAt > lockedAt && o.calledAt < releaseAsked);
    const duringTally = tally(during);
    const slowest = Math.max(...during.map((o) => o.settledAt - o.calledAt));
    const upAt = producer.events.find((e) => e.type === "broker" && e.state === "up" && e.at >= releaseAsked)?.at;
    console.log(`[fault] sqlite spool lock: published=${producer.outcomes.length} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} down_after_ms=${down.first === undefined ? "none" : down.first - lockedAt} (bound ${OUTAGE_AFTER_MS}+${SLACK_MS}) downs_before_lock=${down.before} during_lock=${during.length} during_spooled=${duringTally.spooled} during_confirmed=${duringTally.confirmed} during_rejected=${duringTally.rejected} during_slowest_settle_ms=${slowest} up_after_release_ms=${upAt === undefined ? "none" : upAt - releasedAt} delivered_distinct=${counts.distinct} deliveries=${counts.deliveries} duplicates=${counts.duplicates} lost=${r.lost.length} order_violations=${counts.orderViolations} ${counts.violationSamples.join("; ")} parked=${status.spool?.parked} events=${eventLine(producer.events, lockedAt)} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(published.rejected).toBe(0);
    expect(down.before).toBe(0);
    expect(down.first).toBeDefined();
    expect(down.first! - lockedAt).toBeLessThanOrEqual(OUTAGE_AFTER_MS + SLACK_MS);
    expect(during.length).toBeGreaterThan(1000);
    expect(duringTally.spooled).toBe(during.length);
    expect(slowest).toBeLessThanOrEqual(OUTAGE_AFTER_MS + SLACK_MS);
    expect(status.spool?.parked).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.distinct).toBe(t.confirmed + t.spooled);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 120_000);
});

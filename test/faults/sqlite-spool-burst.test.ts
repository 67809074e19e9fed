/**
 * Fault (regression, failing until fixed): a burst bigger than the spool
 * (500 publishes in one batch, spool maxMessages 200, whenFull "wait")
 * while another process holds the SQLite database's write lock. A batch
 * goes to the spool whole, so this one is never spooled: it waits on the
 * database, retrying through the producer's circuit breaker. Once the lock
 * is released it must be confirmed within a few seconds (the breaker's
 * cool-down is at most 1 s).
 *
 * It is not: the batch sleeps until its publish deadline (publisher.timeout,
 * 60 s here), the breaker stuck half-open and the status saying the broker
 * is down. In Producer.permit() (src/runtime/producer.ts) the batch sees
 * the breaker open, tries to spool itself (an fsynced SQLite append that
 * throws SpoolFullError, some ms), then calls BrokerHealth.changed(maxMs)
 * (src/runtime/broker-health.ts). By then the cool-down has ended: waitMs()
 * moves the breaker to half-open (waking the waiters already queued and
 * clearing the wake-up timer) and returns 0, so `waitMs() || maxMs` arms a
 * timer of the whole remaining timeout. The spool is empty, so the flusher
 * sends no probe, and nothing else wakes the batch. Unit-level twin:
 * test/unit/broker-health.test.ts. Resets do not apply to SQLite.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createChecker } from "../support/checker.js";
import { sleep, waitFor } from "../support/wait.js";
import { declareGroup, sqliteFaultFiles } from "./sqlite-fault-support.js";
import { countDeliveries, recordOutcomes, spoolPublisher, sqliteQueue, startLocker, startSpoolProducer, tally } from "./spool-fault-support.js";

const files = sqliteFaultFiles();
const BOUND = 200;
/** How long the burst may take once the lock is gone: cool-down (≤ 1 s) and a commit, with room to spare. */
const BACK_WITHIN_MS = 10_000;

describe("faults - sqlite spool burst", () => {
  it("faults - sqlite spool: a burst bigger than the spool is never spooled in part: it waits on the database and is confirmed soon after the lock is released; nothing lost", async () => {
    const started = Date.now();
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const locker = await startLocker(file.path);
    const producer = await startSpoolProducer({
      transport: { sqlite: `sqlite://${file.path}?busyTimeoutMs=50` },
      publisher: spoolPublisher(join(file.dir, "producer.spool.db"), { maxMessages: BOUND, whenFull: "wait" }),
    });
    await locker.lock();
    const run = producer.publish({ count: 500, keys: 10, keyPrefix: "k", window: 500 }, 90_000);
    await waitFor(() => producer.events.some((e) => e.type === "broker" && e.state === "down"), 10_000, "the outage to be noticed");
    await sleep(2500);
    const settledWhileDown = producer.outcomes.length;
    const down = await producer.status();
    const releasedAt = await locker.release();
    const published = await Promise.race([run, sleep(BACK_WITHIN_MS).then(() => undefined)]);
    const completedMs = Date.now() - releasedAt;
    const after = await producer.status();
    const delivered = sqliteQueue(file.path, producer.outcomes);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    console.log(`[fault] sqlite spool burst > spool (wait): published=500 bound=${BOUND} settled_while_down=${settledWhileDown} spool_depth_while_down=${down.spool?.messages} settled_within_${BACK_WITHIN_MS}ms_of_release=${producer.outcomes.length} (${completedMs} ms) status_then=${after.broker}/${after.breaker} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} delivered_distinct=${counts.distinct} lost=${r.lost.length} order_violations=${counts.orderViolations} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(settledWhileDown).toBe(0);
    expect(down.spool?.messages).toBe(0);
    expect(published).toEqual({ confirmed: 500, spooled: 0, rejected: 0 });
    expect(counts.distinct).toBe(500);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 60_000);
});

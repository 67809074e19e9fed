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
import { describe, it } from "vitest";
import { sqliteFaultFiles } from "./sqlite-fault-support.js";
import { sqliteWorld } from "./spool-fault-worlds.js";
import { killMidFlushScenario, restartScenario } from "./spool-scenarios.js";

const files = sqliteFaultFiles();

describe("faults - sqlite spool across a producer restart", () => {
  it("faults - sqlite spool: database locked, 1,000 publishes spooled, producer SIGKILLed, lock released, producer restarted: 1,000 of 1,000 arrive", async () => {
    await restartScenario(await sqliteWorld(files()), 1000);
  }, 90_000);

  it("faults - sqlite spool: the producer SIGKILLed at a random point of a paced flush of 2,000; the next one finishes it: all arrive, key order kept, copies at most one batch", async () => {
    await killMidFlushScenario(await sqliteWorld(files()), 2000);
  }, 120_000);
});

/**
 * Fault (issue 7, proof 4) on the SQLite transport: a burst bigger than the
 * spool (500 publishes in one batch, spool maxMessages 200, whenFull "wait")
 * while another process holds the database's write lock. A batch goes to
 * the spool whole, so this one is never spooled: it waits on the database,
 * retrying through the producer's circuit breaker, and is confirmed soon
 * after the lock is released (the breaker's cool-down is at most 1 s).
 *
 * A regression test: the batch once slept until its publish deadline, the
 * breaker stuck half-open (BrokerHealth.changed armed a timer of the whole
 * remaining timeout when the cool-down had just ended, and with an empty
 * spool no flusher probe woke it). Unit-level twin:
 * test/unit/broker-health.test.ts.
 */
import { describe, it } from "vitest";
import { sqliteFaultFiles } from "./sqlite-fault-support.js";
import { sqliteWorld } from "./spool-fault-worlds.js";
import { burstScenario } from "./spool-scenarios.js";

const files = sqliteFaultFiles();

describe("faults - sqlite spool burst", () => {
  it("faults - sqlite spool: a burst bigger than the spool is never spooled in part: it waits on the database and is confirmed soon after the lock is released; nothing lost", async () => {
    await burstScenario(await sqliteWorld(files()));
  }, 60_000);
});

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
import { describe, it } from "vitest";
import { sqliteFaultFiles } from "./sqlite-fault-support.js";
import { sqliteWorld } from "./spool-fault-worlds.js";
import { silentOutageScenario } from "./spool-scenarios.js";

const files = sqliteFaultFiles();

describe("faults - sqlite spool through a held write lock", () => {
  it("faults - sqlite spool: the database locked for 10 s during a publish stream: noticed within outageAfter, publishes spooled, all arrive afterwards", async () => {
    await silentOutageScenario(await sqliteWorld(files()), 10_000);
  }, 120_000);
});

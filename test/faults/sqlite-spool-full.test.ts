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
import { describe, it } from "vitest";
import { sqliteFaultFiles } from "./sqlite-fault-support.js";
import { sqliteWorld } from "./spool-fault-worlds.js";
import { fullRejectScenario, fullWaitScenario } from "./spool-scenarios.js";

const files = sqliteFaultFiles();

describe("faults - sqlite spool full", () => {
  it("faults - sqlite spool: full with whenFull reject: SpoolFullError beyond the bound, the spooled ones arrive, the rejected ones never", async () => {
    await fullRejectScenario(await sqliteWorld(files()));
  }, 60_000);

  it("faults - sqlite spool: full with whenFull wait: publishes beyond the bound wait, then complete once the lock is released; nothing lost", async () => {
    await fullWaitScenario(await sqliteWorld(files()));
  }, 60_000);
});

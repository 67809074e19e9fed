/**
 * Statements that take several keys' locks take them in one order. A batch
 * publish takes a lock per (group, key) of its rows (the key trigger), an ack
 * batch one per key whose head it deletes (the unblock trigger); taken in row
 * order, a publish of keys X, W, Y and an ack of the heads of Y then X waited
 * on each other (40P01: the churn bench failed on it). Here a third session
 * holds W's lock, so the publish takes X and waits, the ack starts, then W is
 * let go. On a server of the test's own, so its deadlock count is this test's.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { keyLockId } from "../../src/transports/postgres/schema.js";
import { startBroker, type BrokerProcess } from "../support/broker-process.js";
import { sleep, waitFor } from "../support/wait.js";

let server: BrokerProcess | undefined;
afterAll(async () => {
  await server?.stop();
});

const message = (key: string): { topic: string; id: string; key: string; wire: { headers: Record<string, string>; body: Buffer } } =>
  ({ topic: "t", id: `m-${key}-${Math.random()}`, key, wire: { headers: { "ce-id": key }, body: Buffer.from(key) } });

describe("postgres - key locks", () => {
  it("postgres - a batch publish and an ack batch over the same keys in opposite orders never deadlock", async () => {
    server = await startBroker("postgres");
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const gate = new pg.Client({ connectionString: server.url });
    await gate.connect();
    const t = postgresTransport({ connectionString: server.url, tablePrefix: "locks_", poolMax: 4 });
    try {
      await t.bind("g", ["t"]);
      const deadlocks = async (): Promise<number> =>
        Number((await admin.query<{ n: string }>("SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0]!.n);
      const before = await deadlocks();
      // The heads the ack deletes: Y first, then X (seq order, the order the ack's rows go in).
      expect(await t.publish([message("Y"), message("X")])).toEqual([undefined, undefined]);
      const sub = await t.subscribe({ group: "g", topics: ["t"], prefetch: 10, ordered: true, leaseMs: 30_000 });
      const heads = await sub.receive(2, 5_000);
      expect(heads.map((d) => d.key).sort()).toEqual(["X", "Y"]);

      await gate.query("BEGIN");
      await gate.query(`SELECT pg_advisory_xact_lock(${keyLockId("$1::text", "$2::text")})`, ["g", "W"]);
      const waiting = async (): Promise<number> =>
        Number((await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0]!.n);
      const publishing = t.publish([message("X"), message("W"), message("Y")]);
      await waitFor(async () => (await waiting()) >= 1, 10_000, "the publish waiting on W");
      const acking = Promise.all(heads.map((d) => d.ack()));
      // The ack waits too (on X, or on W's order), or finishes: either way it has started.
      await sleep(500);
      await gate.query("COMMIT");
      expect(await publishing).toEqual([undefined, undefined, undefined]);
      await acking;
      // The server counts a deadlock when it breaks one (deadlock_timeout, 1 s); its statistics reach the view within a second or so.
      await sleep(2_500);
      expect(await deadlocks()).toBe(before);
    } finally {
      await t.close();
      await gate.end();
      await admin.end();
    }
  });
});

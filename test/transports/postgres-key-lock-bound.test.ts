/**
 * Regression (issue 18): a publish took one advisory lock per distinct
 * (group, key) of its batch, and an ack one per key whose row it deleted, all
 * held to the commit. A batch of ~20,000 distinct keys ran the server's lock
 * table out ("out of shared memory", max_locks_per_transaction: 64 here, so
 * ~6,400 locks for the whole server). Locks are now taken per hash bucket of
 * the key, so a transaction holds at most KEY_LOCK_BUCKETS of them whatever
 * its batch. On the shared server: its lock table is the one users have.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../src/index.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { QueueStore } from "../../src/transports/postgres/queue-store.js";
import { KEY_LOCK_BUCKETS } from "../../src/transports/postgres/schema.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";

const KEYS = 30_000;
const opened: PostgresTransport[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
  for (const p of prefixes.splice(0)) await dropPrefix(p);
});

const message = (i: number): OutgoingMessage => ({ topic: "t", id: `m-${i}`, key: `k-${i}`, wire: { headers: { "ce-id": `m-${i}` }, body: Buffer.from(String(i)) } });

describe("postgres - key locks per transaction are bounded", () => {
  it(`postgres - a publish batch and an ack batch of ${KEYS} distinct keys each commit, holding at most ${KEY_LOCK_BUCKETS} advisory locks`, async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, poolMax: 2 });
    opened.push(t);
    await t.bind("g", ["t"]);
    // A second key per group as well: every row's (group, key) is distinct, two groups double the rows.
    await t.bind("g2", ["t"]);
    const batch = Array.from({ length: KEYS }, (_, i) => message(i));
    expect((await t.publish(batch)).filter((r) => r !== undefined)).toEqual([]);

    // The ack statement itself, over every row of the group at once (the transport's ack batches hold at most 1,000).
    const store = new QueueStore(t.pool, prefix, 1 << 20, false, () => {});
    const claim = await store.claim("g", true, KEYS + 1, 60_000);
    expect(claim.rows.length).toBe(KEYS);
    const leases = claim.rows.map((r) => ({ seq: r.seq, token: claim.token, group: "g", key: r.key ?? undefined }));
    expect((await store.ackMany(leases)).every(Boolean)).toBe(true);

    // And the locks one such statement holds at its end, seen from its own transaction.
    const client = await t.pool.connect();
    try {
      await client.query("BEGIN");
      const again = await store.claim("g2", true, KEYS + 1, 60_000);
      expect(again.rows.length).toBe(KEYS);
      await client.query(
        `DELETE FROM ${t.tables.queue} WHERE seq = ANY($1::bigint[])`,
        [again.rows.map((r) => r.seq)],
      );
      const held = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
      expect(Number(held.rows[0]!.n)).toBeGreaterThan(0);
      expect(Number(held.rows[0]!.n)).toBeLessThanOrEqual(KEY_LOCK_BUCKETS);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK");
      throw err;
    } finally {
      client.release();
    }
    const left = await t.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.tables.queue}`);
    expect(Number(left.rows[0]!.n)).toBe(0);
  }, 120_000);

  it("postgres - a plain client's INSERT of 30,000 rows of distinct keys (the key trigger alone, no pre-locks) commits", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, poolMax: 2 });
    opened.push(t);
    await t.bind("g", ["t"]);
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`INSERT INTO ${t.tables.queue} (group_name, topic, message_id, key) SELECT 'g', 't', 'p-' || i, 'k-' || i FROM generate_series(1, $1::int) i`, [KEYS]);
      const heads = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.tables.queue} WHERE NOT blocked`);
      expect(Number(heads.rows[0]!.n)).toBe(KEYS);
    } finally {
      await client.end();
    }
  }, 120_000);
});

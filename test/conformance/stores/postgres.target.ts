import pg from "pg";
import { postgresInbox, postgresOutbox, type PostgresInboxOptions } from "../../../src/stores/postgres/index.js";
import { dropSchema } from "../../../src/stores/sql/schema.js";
import { uniqueSuffix, type StoreTarget } from "./store-target.js";

export const PG_CONFIG = { host: "127.0.0.1", port: 5432, user: process.env["MISSIVE_TEST_PG_USER"] ?? "postgres", database: "test" };

export function pgPool(max = 8): pg.Pool {
  const pool = new pg.Pool({ ...PG_CONFIG, max });
  pool.on("error", () => undefined);
  return pool;
}

export const postgresTarget: StoreTarget = {
  name: "postgres",
  concurrentWriters: true,
  notify: true,
  async setup() {
    const pool = pgPool(12);
    const s = uniqueSuffix();
    const names = { outbox: `t_outbox_${s}`, inbox: `t_inbox_${s}`, effects: `t_effects_${s}` };
    const outbox = postgresOutbox({ pool, table: names.outbox, source: "store-conformance", claimWindow: 200 });
    await outbox.migrate();
    await pool.query(`CREATE TABLE "${names.effects}" (message_id TEXT NOT NULL)`);
    const relayPools: pg.Pool[] = [];
    const stores: Array<{ close(): void }> = [];
    const inTx = async <T>(fn: (c: pg.PoolClient) => Promise<T>, rollback = false): Promise<T> => {
      const c = await pool.connect();
      try {
        await c.query("BEGIN");
        const r = await fn(c);
        await c.query(rollback ? "ROLLBACK" : "COMMIT");
        return r;
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    };
    const effect = (c: pg.PoolClient, id: string): Promise<unknown> => c.query(`INSERT INTO "${names.effects}" (message_id) VALUES ($1)`, [id]);
    return {
      async inbox(options = {}) {
        const inbox = postgresInbox({ pool, table: names.inbox, ...options } as PostgresInboxOptions);
        await inbox.migrate();
        stores.push(inbox);
        return inbox;
      },
      effect: (tx, id) => effect(tx as pg.PoolClient, id),
      async effects() {
        const r = await pool.query<{ message_id: string; n: string }>(`SELECT message_id, count(*) AS n FROM "${names.effects}" GROUP BY message_id`);
        return new Map(r.rows.map((x) => [x.message_id, Number(x.n)]));
      },
      write: (adds, options) =>
        inTx(async (c) => {
          const ids: string[] = [];
          for (const a of adds) {
            const { id } = await outbox.add(c, a.definition, a.data, a.options);
            await effect(c, id);
            ids.push(id);
          }
          return ids;
        }, options?.rollback),
      async openWrite(adds) {
        const c = await pool.connect();
        await c.query("BEGIN");
        const ids: string[] = [];
        for (const a of adds) ids.push((await outbox.add(c, a.definition, a.data, a.options)).id);
        const end = async (sql: string): Promise<void> => {
          try {
            await c.query(sql);
          } finally {
            c.release();
          }
        };
        return { ids, commit: () => end("COMMIT"), rollback: () => end("ROLLBACK") };
      },
      relay(transport, options = {}) {
        // A pool per relay: its own connections, as another process would have.
        const own = pgPool(4);
        relayPools.push(own);
        return postgresOutbox({ pool: own, table: names.outbox, source: "store-conformance" }).relay({ transport, ...options });
      },
      lag: () => outbox.lag(),
      async rows() {
        const r = await pool.query<{ message_id: string; sent_at: string | null; attempts: number }>(`SELECT message_id, sent_at, attempts FROM "${names.outbox}" ORDER BY seq`);
        return r.rows.map((x) => ({ id: x.message_id, sent: x.sent_at !== null, attempts: x.attempts }));
      },
      async ageSent(ms) {
        await pool.query(`UPDATE "${names.outbox}" SET sent_at = sent_at - $1 WHERE sent_at IS NOT NULL`, [ms]);
      },
      addInTx: (tx, a) => outbox.add(tx as pg.PoolClient, a.definition, a.data, a.options),
      addWith: (tx, a) => outbox.add(tx as pg.PoolClient, a.definition, a.data, a.options),
      makeOutbox: (options) => postgresOutbox({ pool, source: "x", ...options } as never),
      makeInbox: (options) => postgresInbox({ pool, ...options } as never),
      async teardown() {
        for (const s of stores) s.close();
        await Promise.all(relayPools.map((p) => p.end().catch(() => undefined)));
        for (const sql of [...dropSchema("postgres", names.outbox, names.inbox), `DROP TABLE IF EXISTS "${names.effects}"`]) await pool.query(sql).catch(() => undefined);
        await pool.end();
      },
    };
  },
};

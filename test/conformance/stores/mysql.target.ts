import mysql from "mysql2/promise";
import { mysqlInbox, mysqlOutbox, type MysqlInboxOptions } from "../../../src/stores/mysql/index.js";
import { dropSchema } from "../../../src/stores/sql/schema.js";
import { uniqueSuffix, type StoreTarget } from "./store-target.js";

export const MYSQL_CONFIG = { host: "127.0.0.1", port: 3306, user: "root", password: "", database: "test" };

export function mysqlPool(connectionLimit = 8): mysql.Pool {
  return mysql.createPool({ ...MYSQL_CONFIG, connectionLimit });
}

export const mysqlTarget: StoreTarget = {
  name: "mariadb",
  concurrentWriters: true,
  notify: false,
  async setup() {
    const pool = mysqlPool(12);
    const s = uniqueSuffix();
    const names = { outbox: `t_outbox_${s}`, inbox: `t_inbox_${s}`, effects: `t_effects_${s}` };
    const outbox = mysqlOutbox({ pool, table: names.outbox, source: "store-conformance", claimWindow: 200 });
    await outbox.migrate();
    await pool.query(`CREATE TABLE \`${names.effects}\` (message_id VARCHAR(255) NOT NULL) ENGINE=InnoDB`);
    const relayPools: mysql.Pool[] = [];
    const stores: Array<{ close(): void }> = [];
    const effect = (c: mysql.PoolConnection, id: string): Promise<unknown> => c.query(`INSERT INTO \`${names.effects}\` (message_id) VALUES (?)`, [id]);
    return {
      async inbox(options = {}) {
        const inbox = mysqlInbox({ pool, table: names.inbox, ...options } as MysqlInboxOptions);
        await inbox.migrate();
        stores.push(inbox);
        return inbox;
      },
      effect: (tx, id) => effect(tx as mysql.PoolConnection, id),
      async effects() {
        const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT message_id, count(*) AS n FROM \`${names.effects}\` GROUP BY message_id`);
        return new Map(rows.map((x) => [x["message_id"] as string, Number(x["n"])]));
      },
      async write(adds, options) {
        const c = await pool.getConnection();
        try {
          await c.beginTransaction();
          const ids: string[] = [];
          for (const a of adds) {
            const { id } = await outbox.add(c, a.definition, a.data, a.options);
            await effect(c, id);
            ids.push(id);
          }
          if (options?.rollback) await c.rollback();
          else await c.commit();
          return ids;
        } catch (err) {
          await c.rollback().catch(() => undefined);
          throw err;
        } finally {
          c.release();
        }
      },
      async openWrite(adds) {
        const c = await pool.getConnection();
        await c.beginTransaction();
        const ids: string[] = [];
        for (const a of adds) ids.push((await outbox.add(c, a.definition, a.data, a.options)).id);
        const end = async (fn: () => Promise<void>): Promise<void> => {
          try {
            await fn();
          } finally {
            c.release();
          }
        };
        return { ids, commit: () => end(() => c.commit()), rollback: () => end(() => c.rollback()) };
      },
      relay(transport, options = {}) {
        const own = mysqlPool(4);
        relayPools.push(own);
        return mysqlOutbox({ pool: own, table: names.outbox, source: "store-conformance" }).relay({ transport, pollIntervalMs: 50, ...options });
      },
      lag: () => outbox.lag(),
      async rows() {
        const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT message_id, sent_at, attempts FROM \`${names.outbox}\` ORDER BY seq`);
        return rows.map((x) => ({ id: x["message_id"] as string, sent: x["sent_at"] !== null, attempts: Number(x["attempts"]) }));
      },
      async ageSent(ms) {
        await pool.query(`UPDATE \`${names.outbox}\` SET sent_at = sent_at - ? WHERE sent_at IS NOT NULL`, [ms]);
      },
      addInTx: (tx, a) => outbox.add(tx as mysql.PoolConnection, a.definition, a.data, a.options),
      addWith: (tx, a) => outbox.add(tx as mysql.PoolConnection, a.definition, a.data, a.options),
      makeOutbox: (options) => mysqlOutbox({ pool, source: "x", ...options } as never),
      makeInbox: (options) => mysqlInbox({ pool, ...options } as never),
      async teardown() {
        for (const s of stores) s.close();
        await Promise.all(relayPools.map((p) => p.end().catch(() => undefined)));
        for (const sql of [...dropSchema("mysql", names.outbox, names.inbox), `DROP TABLE IF EXISTS \`${names.effects}\``]) await pool.query(sql).catch(() => undefined);
        await pool.end();
      },
    };
  },
};

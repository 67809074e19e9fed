/**
 * The MySQL/MariaDB inbox (docs/contract.md §2): on one pooled connection, START
 * TRANSACTION, INSERT IGNORE (group, message id) — a second concurrent
 * delivery of the same message waits on the primary key, then finds the row:
 * duplicate — `effects(connection)` (may be async), COMMIT. The ack is the
 * runtime's, after the commit (`acked: false`).
 */
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import type { InboxOutcome, InboxStore } from "../inbox.js";
import type { Delivery } from "../../transport/transport.js";
import { toStoreError } from "../sql/errors.js";
import { checkAge, storedKey } from "../sql/ids.js";
import { checkInboxTable } from "../sql/inbox-check.js";
import { DEFAULT_INBOX_TABLE, optionsObject, tableName } from "../sql/names.js";
import { inboxSchema } from "../sql/schema.js";
import { retention, startSweeper, type RetentionOptions, type Sweeper } from "../sql/sweeper.js";
import { checkPool, connectionOf, dispose, runMysqlStatements } from "./pool.js";

export interface MysqlInboxOptions extends RetentionOptions {
  /** A mysql2 promise pool; each transaction takes one of its connections. */
  readonly pool: Pool;
  /** Inbox table name. Default `missive_inbox`. */
  readonly table?: string;
}

export interface MysqlInbox extends InboxStore<PoolConnection> {
  readonly table: string;
  /** Create the table if it does not exist (or run sql/mysql/002_inbox.sql yourself). */
  migrate(): Promise<void>;
  /** Stop the periodic cleanup. The pool is yours to end. */
  close(): void;
}

export function mysqlInbox(options: MysqlInboxOptions): MysqlInbox {
  const o = optionsObject<MysqlInboxOptions>(options, "mysql inbox");
  const pool = checkPool(o.pool, "mysql inbox");
  const table = tableName(o.table, DEFAULT_INBOX_TABLE, "mysql inbox");
  const r = retention(o, "mysql inbox");
  const sql = {
    insert: `INSERT IGNORE INTO \`${table}\` (group_name, message_id, handled_at) VALUES (?, ?, ?)`,
    seen: `SELECT 1 AS found FROM \`${table}\` WHERE group_name = ? AND message_id = ?`,
    cleanup: `DELETE FROM \`${table}\` WHERE handled_at < ? LIMIT ?`,
  };
  const store: MysqlInbox = {
    name: "mysql",
    table,
    migrate: () => runMysqlStatements(pool, inboxSchema("mysql", table)),
    close: () => sweeper.stop(),
    check: () => checkInboxTable("mysql", table, () => pool.query(`SELECT 1 FROM \`${table}\` LIMIT 0`)),
    async runOnce<R>(group: string, messageId: string, _delivery: Delivery, effects: (tx: PoolConnection) => R): Promise<InboxOutcome<R>> {
      const params = [storedKey(group, "group"), storedKey(messageId, "message id"), Date.now()];
      const conn = await connectionOf(pool, "mysql inbox");
      let broken = false;
      // A failed ROLLBACK marks the connection broken (destroyed, not pooled): the server rolls back as it goes; the caller gets the original error.
      const rollback = (): Promise<unknown> => conn.query("ROLLBACK").catch(() => (broken = true));
      try {
        try {
          await conn.query("START TRANSACTION");
          const [res] = await conn.query<ResultSetHeader>(sql.insert, params);
          if (res.affectedRows === 0) {
            await conn.query("ROLLBACK");
            return { duplicate: true };
          }
        } catch (err) {
          broken = true;
          throw toStoreError(err, "mysql inbox", "recording the message failed");
        }
        let value: Awaited<R>;
        try {
          value = await effects(conn);
        } catch (err) {
          await rollback();
          throw err;
        }
        try {
          await conn.query("COMMIT");
        } catch (err) {
          broken = true;
          throw toStoreError(err, "mysql inbox", "commit failed");
        }
        return { duplicate: false, value: value as R, acked: false };
      } finally {
        dispose(conn, broken);
      }
    },
    async seen(group: string, messageId: string): Promise<boolean> {
      try {
        const [rows] = await pool.query(sql.seen, [storedKey(group, "group"), storedKey(messageId, "message id")]);
        return (rows as unknown[]).length > 0;
      } catch (err) {
        throw toStoreError(err, "mysql inbox", "lookup failed");
      }
    },
    async cleanup(olderThanMs: number): Promise<number> {
      const before = Date.now() - checkAge(olderThanMs, "mysql");
      let total = 0;
      try {
        for (;;) {
          const [res] = await pool.query<ResultSetHeader>(sql.cleanup, [before, r.chunk]);
          total += res.affectedRows;
          if (res.affectedRows < r.chunk) return total;
        }
      } catch (err) {
        throw toStoreError(err, "mysql inbox", "cleanup failed");
      }
    },
  };
  const sweeper: Sweeper = startSweeper(r.retentionMs, r.intervalMs, (age) => store.cleanup(age));
  return store;
}

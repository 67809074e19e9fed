/**
 * The SQLite inbox on a plain better-sqlite3 database (any transport): the
 * (group, message id) row and the handler's writes commit in one immediate
 * transaction. SQLite transactions are synchronous, so `effects(db)` must do
 * its writes synchronously. The ack is the runtime's, after the commit
 * (`acked: false`); for an inbox that acks inside the transaction, use the
 * SQLite transport's own (`sqliteInbox` from `missive/sqlite`).
 */
import type Database from "better-sqlite3";
import { assertSynchronousEffects, type InboxOutcome, type InboxStore } from "../inbox.js";
import type { Delivery } from "../../transport/transport.js";
import { toStoreError } from "../sql/errors.js";
import { checkAge, storedKey } from "../sql/ids.js";
import { checkInboxTable } from "../sql/inbox-check.js";
import { DEFAULT_INBOX_TABLE, optionsObject, tableName } from "../sql/names.js";
import { inboxSchema } from "../sql/schema.js";
import { retention, startSweeper, type RetentionOptions, type Sweeper } from "../sql/sweeper.js";
import { checkDatabase, runSqliteStatements } from "./database.js";

export interface SqliteInboxStoreOptions extends RetentionOptions {
  /** The database the handler writes to. */
  readonly database: Database.Database;
  /** Inbox table name. Default `missive_inbox`. */
  readonly table?: string;
}

export interface SqliteInboxStore extends InboxStore<Database.Database> {
  readonly table: string;
  /** Create the table if it does not exist (or run sql/sqlite/002_inbox.sql yourself). */
  migrate(): void;
  /** Stop the periodic cleanup. The database is yours to close. */
  close(): void;
}

interface Job {
  readonly group: string;
  readonly id: string;
  readonly effects: (db: Database.Database) => unknown;
  failure?: { error: unknown };
}

export function sqliteInboxStore(options: SqliteInboxStoreOptions): SqliteInboxStore {
  const o = optionsObject<SqliteInboxStoreOptions>(options, "sqlite inbox");
  const db = checkDatabase(o.database, "sqlite inbox: `database`");
  const table = tableName(o.table, DEFAULT_INBOX_TABLE, "sqlite inbox");
  const r = retention(o, "sqlite inbox");
  let statements: { insert: Database.Statement; seen: Database.Statement; cleanup: Database.Statement; tx: Database.Transaction<(job: Job) => InboxOutcome<unknown>> } | undefined;
  // Prepared on first use: the table may be created by migrate() after the store.
  const s = (): NonNullable<typeof statements> => {
    if (statements) return statements;
    const insert = db.prepare(`INSERT OR IGNORE INTO "${table}" (group_name, message_id, handled_at) VALUES (?, ?, ?)`);
    statements = {
      insert,
      seen: db.prepare(`SELECT 1 FROM "${table}" WHERE group_name = ? AND message_id = ?`).pluck(),
      cleanup: db.prepare(`DELETE FROM "${table}" WHERE (group_name, message_id) IN (SELECT group_name, message_id FROM "${table}" WHERE handled_at < ? LIMIT ?)`),
      tx: db.transaction((job: Job): InboxOutcome<unknown> => {
        if (insert.run(job.group, job.id, Date.now()).changes === 0) return { duplicate: true };
        let value: unknown;
        try {
          value = job.effects(db);
        } catch (error) {
          job.failure = { error };
          throw error;
        }
        assertSynchronousEffects(
          value,
          "sqlite inbox: the transaction callback returned a promise. SQLite transactions are synchronous: do the writes synchronously with the handle you are given",
        );
        return { duplicate: false, value, acked: false };
      }),
    };
    return statements;
  };
  const store: SqliteInboxStore = {
    name: "sqlite",
    table,
    check: () => checkInboxTable("sqlite", table, () => db.prepare(`SELECT 1 FROM "${table}" LIMIT 0`)),
    migrate: () => {
      try {
        runSqliteStatements(db, inboxSchema("sqlite", table));
      } catch (err) {
        throw toStoreError(err, "sqlite inbox", "migration failed");
      }
    },
    close: () => sweeper.stop(),
    async runOnce<R>(group: string, messageId: string, _delivery: Delivery, effects: (tx: Database.Database) => R): Promise<InboxOutcome<R>> {
      const job: Job = { group: storedKey(group, "group"), id: storedKey(messageId, "message id"), effects };
      try {
        return s().tx.immediate(job) as InboxOutcome<R>;
      } catch (err) {
        if (job.failure && job.failure.error === err) throw err;
        throw toStoreError(err, "sqlite inbox", "inbox transaction failed");
      }
    },
    async seen(group: string, messageId: string): Promise<boolean> {
      try {
        return s().seen.get(storedKey(group, "group"), storedKey(messageId, "message id")) !== undefined;
      } catch (err) {
        throw toStoreError(err, "sqlite inbox", "lookup failed");
      }
    },
    async cleanup(olderThanMs: number): Promise<number> {
      const before = Date.now() - checkAge(olderThanMs, "sqlite");
      let total = 0;
      try {
        for (;;) {
          const n = s().cleanup.run(before, r.chunk).changes;
          total += n;
          if (n < r.chunk) return total;
        }
      } catch (err) {
        throw toStoreError(err, "sqlite inbox", "cleanup failed");
      }
    },
  };
  const sweeper: Sweeper = startSweeper(r.retentionMs, r.intervalMs, (age) => store.cleanup(age));
  return store;
}

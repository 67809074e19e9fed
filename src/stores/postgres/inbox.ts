/**
 * The PostgreSQL inbox (docs/contract.md §2): (group, message id) inserted in the
 * same transaction as the handler's writes, on one pooled connection:
 * BEGIN, insert (a second concurrent delivery of the same message waits on
 * the primary key, then finds the row: duplicate), `effects(client)` (may be
 * async), COMMIT. When the delivery's queue runs on this very pool (the
 * PostgreSQL transport's, through the AckWithinTransaction ability) its ack
 * is written before the COMMIT too (`acked: true`): effects, inbox row and
 * ack are one transaction. Otherwise the ack is the runtime's, after the
 * commit (`acked: false`).
 */
import type { Pool, PoolClient } from "pg";
import type { InboxOutcome, InboxStore } from "../inbox.js";
import { acksWithinTransaction, type TransactionAckEnd } from "../../transport/abilities.js";
import type { Delivery } from "../../transport/transport.js";
import { toStoreError } from "../sql/errors.js";
import { holdClient } from "./checked-out.js";
import { checkAge, storedKey } from "../sql/ids.js";
import { checkInboxTable } from "../sql/inbox-check.js";
import { DEFAULT_INBOX_TABLE, optionsObject, tableName } from "../sql/names.js";
import { retention, startSweeper, type RetentionOptions, type Sweeper } from "../sql/sweeper.js";
import { migratePostgres } from "./migrate.js";
import { checkPool } from "./pool.js";

export interface PostgresInboxOptions extends RetentionOptions {
  /** The pool the inbox takes a connection from for each transaction. */
  readonly pool: Pool;
  /** Inbox table name. Default `missive_inbox`. */
  readonly table?: string;
}

export interface PostgresInbox extends InboxStore<PoolClient> {
  readonly table: string;
  /** Create the table if it does not exist (or run sql/postgres/002_inbox.sql yourself). */
  migrate(): Promise<void>;
  /** Stop the periodic cleanup. The pool is yours to end. */
  close(): void;
}

export function postgresInbox(options: PostgresInboxOptions): PostgresInbox {
  const o = optionsObject<PostgresInboxOptions>(options, "postgres inbox");
  const pool = checkPool(o.pool, "postgres inbox");
  const table = tableName(o.table, DEFAULT_INBOX_TABLE, "postgres inbox");
  const r = retention(o, "postgres inbox");
  return new PgInbox(pool, table, r.retentionMs, r.intervalMs, r.chunk);
}

class PgInbox implements PostgresInbox {
  readonly name = "postgres";
  private readonly sql: { insert: string; seen: string; cleanup: string };
  private readonly sweeper: Sweeper;

  constructor(
    private readonly pool: Pool,
    readonly table: string,
    retentionMs: number | undefined,
    intervalMs: number,
    private readonly chunk: number,
  ) {
    this.sql = {
      insert: `INSERT INTO "${table}" (group_name, message_id, handled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      seen: `SELECT 1 FROM "${table}" WHERE group_name = $1 AND message_id = $2`,
      cleanup: `DELETE FROM "${table}" WHERE ctid = ANY(ARRAY(SELECT ctid FROM "${table}" WHERE handled_at < $1 LIMIT $2))`,
    };
    this.sweeper = startSweeper(retentionMs, intervalMs, (age) => this.cleanup(age));
  }

  migrate(): Promise<void> {
    return migratePostgres(this.pool, { inbox: this.table });
  }

  close(): void {
    this.sweeper.stop();
  }

  check(): Promise<void> {
    return checkInboxTable("postgres", this.table, () => this.pool.query(`SELECT 1 FROM "${this.table}" LIMIT 0`));
  }

  async runOnce<R>(group: string, messageId: string, delivery: Delivery, effects: (tx: PoolClient) => R): Promise<InboxOutcome<R>> {
    const g = storedKey(group, "group");
    const id = storedKey(messageId, "message id");
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toStoreError(err, "postgres inbox", "connecting failed");
    }
    // Held across the handler's effects, which may await anything while the server dies.
    const letGo = holdClient(client);
    let broken: Error | undefined;
    const rollback = (): Promise<unknown> => client.query("ROLLBACK").catch((e: Error) => (broken = e));
    try {
      try {
        await client.query("BEGIN");
        const inserted = await client.query(this.sql.insert, [g, id, Date.now()]);
        if (inserted.rowCount === 0) {
          await client.query("ROLLBACK");
          return { duplicate: true };
        }
      } catch (err) {
        broken = err as Error;
        throw toStoreError(err, "postgres inbox", "recording the message failed");
      }
      let value: Awaited<R>;
      try {
        value = await effects(client);
      } catch (err) {
        // The handler's error passes through untouched; its writes and the inbox row roll back.
        await rollback();
        throw err;
      }
      let ackEnd: TransactionAckEnd | undefined;
      if (acksWithinTransaction(delivery) && delivery.ackScope === this.pool) {
        try {
          ackEnd = await delivery.ackWithin(client);
        } catch (err) {
          // The lease went to another consumer (LeaseLostError) or the ack failed: the effects must not commit without it.
          await rollback();
          throw toStoreError(err, "postgres inbox", "acking in the inbox transaction failed");
        }
      }
      try {
        await client.query("COMMIT");
      } catch (err) {
        broken = err as Error;
        // Whether it committed is unknown: the delivery is held again, and a settle after a commit finds its lease gone.
        ackEnd?.(false);
        throw toStoreError(err, "postgres inbox", "commit failed");
      }
      ackEnd?.(true);
      return { duplicate: false, value: value as R, acked: ackEnd !== undefined };
    } finally {
      letGo();
      client.release(broken);
    }
  }

  async seen(group: string, messageId: string): Promise<boolean> {
    try {
      const r = await this.pool.query(this.sql.seen, [storedKey(group, "group"), storedKey(messageId, "message id")]);
      return (r.rowCount ?? 0) > 0;
    } catch (err) {
      throw toStoreError(err, "postgres inbox", "lookup failed");
    }
  }

  async cleanup(olderThanMs: number): Promise<number> {
    const before = Date.now() - checkAge(olderThanMs, "postgres");
    let total = 0;
    try {
      for (;;) {
        const r = await this.pool.query(this.sql.cleanup, [before, this.chunk]);
        total += r.rowCount ?? 0;
        if ((r.rowCount ?? 0) < this.chunk) return total;
      }
    } catch (err) {
      throw toStoreError(err, "postgres inbox", "cleanup failed");
    }
  }
}

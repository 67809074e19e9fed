/**
 * The SQLite inbox (docs/contract.md §2): (group, message id) recorded in the same
 * better-sqlite3 transaction as the handler's writes and, when the delivery
 * came from a transport on the same file, its ack. One commit makes the
 * effect, the dedup record and the settle durable together.
 */
import type Database from "better-sqlite3";
import { ConfigurationError, ErrorCodes, LeaseLostError, isMissiveError } from "../../errors.js";
import { assertSynchronousEffects, type InboxOutcome, type InboxStore } from "../../stores/inbox.js";
import type { Delivery } from "../../transport/transport.js";
import { SqliteDelivery } from "./delivery.js";
import { TABLE_PREFIX } from "./options.js";
import { inboxSchema, tableNames } from "./schema.js";
import { toTransportError } from "./sqlite-errors.js";
import { fileKeyOf, type SqliteTransport } from "./sqlite-transport.js";

export interface SqliteInboxOptions {
  /** Prefix of the inbox table. Default: the transport's (`missive_`, so the table is `missive_inbox`). */
  readonly tablePrefix?: string;
}

/** An inbox in the transport's own database file; `runOnce` hands `effects` the better-sqlite3 handle. */
export function sqliteInbox(transport: SqliteTransport, options: SqliteInboxOptions = {}): InboxStore<Database.Database> {
  const prefix = options.tablePrefix ?? transport.tablePrefix;
  if (typeof prefix !== "string" || !TABLE_PREFIX.test(prefix)) {
    throw new ConfigurationError(`sqlite inbox: \`tablePrefix\` must match ${TABLE_PREFIX.source}, got ${JSON.stringify(prefix)}`);
  }
  const db = transport.database;
  try {
    const ddl = inboxSchema(prefix);
    db.transaction(() => db.exec(ddl)).immediate();
  } catch (err) {
    throw toTransportError(err, "creating the inbox table failed");
  }
  // The inbox table may have its own prefix; the queue it acks in is always the transport's.
  return new SqliteInbox(db, fileKeyOf(transport), tableNames(prefix).inbox, tableNames(transport.tablePrefix).queue);
}

/** One runOnce call, as the shared transaction function sees it. */
interface InboxJob {
  readonly group: string;
  readonly messageId: string;
  /** The delivery to ack in the same transaction, when it is this file's and still held. */
  readonly own: SqliteDelivery | undefined;
  readonly effects: (tx: Database.Database) => unknown;
  /** Set when `effects` threw: that error is the handler's and passes through untouched. */
  effectsFailure?: { error: unknown };
}

class SqliteInbox implements InboxStore<Database.Database> {
  readonly name = "sqlite";
  private readonly s: {
    record: Database.Statement<unknown[], unknown>;
    seen: Database.Statement<unknown[], unknown>;
    cleanup: Database.Statement<unknown[], unknown>;
    ack: Database.Statement<unknown[], unknown>;
  };
  // Built once: better-sqlite3 wraps a transaction function in four variants on every `transaction()` call.
  private readonly runTx: Database.Transaction<(job: InboxJob) => InboxOutcome<unknown>>;

  constructor(
    private readonly db: Database.Database,
    private readonly fileKey: string | undefined,
    inboxTable: string,
    queueTable: string,
  ) {
    this.s = {
      record: db.prepare(`INSERT OR IGNORE INTO ${inboxTable} (group_name, message_id, handled_at) VALUES (?, ?, ?)`),
      seen: db.prepare(`SELECT 1 FROM ${inboxTable} WHERE group_name = ? AND message_id = ?`).pluck(),
      cleanup: db.prepare(`DELETE FROM ${inboxTable} WHERE handled_at < ?`),
      ack: db.prepare(`DELETE FROM ${queueTable} WHERE seq = ? AND lease_token = ?`),
    };
    this.runTx = db.transaction((job: InboxJob) => this.inTransaction(job));
  }

  async runOnce<R>(group: string, messageId: string, delivery: Delivery, effects: (tx: Database.Database) => R): Promise<InboxOutcome<R>> {
    // Ack in this transaction only a delivery of this very file that nobody settled yet.
    const own = delivery instanceof SqliteDelivery && delivery.fileKey === this.fileKey && delivery.status === "held" ? delivery : undefined;
    const job: InboxJob = { group, messageId, own, effects };
    let outcome: InboxOutcome<R>;
    try {
      outcome = this.runTx.immediate(job) as InboxOutcome<R>;
    } catch (err) {
      if (job.effectsFailure && job.effectsFailure.error === err) throw err;
      if (isMissiveError(err)) {
        if (err.code === ErrorCodes.LEASE_LOST && own) own.settledElsewhere();
        throw err;
      }
      throw toTransportError(err, "inbox transaction failed");
    }
    if (!outcome.duplicate && outcome.acked && own) own.settledElsewhere();
    return outcome;
  }

  private inTransaction(job: InboxJob): InboxOutcome<unknown> {
    const { group, messageId, own } = job;
    if (this.s.record.run(group, messageId, Date.now()).changes === 0) return { duplicate: true };
    let value: unknown;
    try {
      value = job.effects(this.db);
    } catch (error) {
      job.effectsFailure = { error };
      throw error;
    }
    assertSynchronousEffects(
      value,
      "sqlite inbox: the transaction callback returned a promise. SQLite transactions are synchronous: " +
        "do the database writes synchronously with the handle you are given, and await other work before or after ctx.transaction",
    );
    if (own && this.s.ack.run(own.seq, own.token).changes === 0) {
      throw new LeaseLostError(`inbox: the lease of message ${messageId} in group ${JSON.stringify(group)} was lost; its effects were rolled back`);
    }
    return { duplicate: false, value, acked: own !== undefined };
  }

  async seen(group: string, messageId: string): Promise<boolean> {
    try {
      return this.s.seen.get(group, messageId) !== undefined;
    } catch (err) {
      throw toTransportError(err, "inbox lookup failed");
    }
  }

  async cleanup(olderThanMs: number): Promise<number> {
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw new ConfigurationError(`sqlite inbox: cleanup needs a non-negative age in ms, got ${String(olderThanMs)}`);
    try {
      return this.s.cleanup.run(Date.now() - olderThanMs).changes;
    } catch (err) {
      throw toTransportError(err, "inbox cleanup failed");
    }
  }
}

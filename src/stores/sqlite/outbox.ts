/**
 * The SQLite outbox: `add(db, Contract, data)` inserts the encoded message
 * inside the caller's better-sqlite3 transaction, synchronously (validation
 * included: an async schema is a ConfigurationError); `relay({ transport })`
 * publishes committed rows, polling (default every 50 ms: a read of one
 * index page) or woken with `relay.wake()` after a commit.
 */
import type Database from "better-sqlite3";
import { ConfigurationError } from "../../errors.js";
import type { MessageDefinition, MessageInput } from "../../contract/define-message.js";
import { OutboxEncoder, type OutboxAddOptions, type OutboxLag, type OutboxReceipt, type OutboxSettings } from "../outbox.js";
import { startRelay, type OutboxRelay, type RelayOptions } from "../relay.js";
import { toStoreError } from "../sql/errors.js";
import { DEFAULT_OUTBOX_TABLE, intOption, optionsObject, tableName } from "../sql/names.js";
import { outboxSchema } from "../sql/schema.js";
import { checkDatabase, runSqliteStatements } from "./database.js";
import { SqliteRelaySource } from "./relay-source.js";

export interface SqliteOutboxOptions extends OutboxSettings {
  /** The database relays and `lag()` use (a relay in another process opens the file itself). */
  readonly database: Database.Database;
  /** How long a relay's turn lasts before another relay may take over, ms. Default 10 000. */
  readonly leaseMs?: number;
}

export interface SqliteOutbox {
  readonly table: string;
  /** Validate, encode and insert, synchronously, inside the transaction `db` is in. */
  add<M extends MessageDefinition<string, unknown, unknown>>(db: Database.Database, definition: M, data: MessageInput<M>, options?: OutboxAddOptions): OutboxReceipt;
  /** Start a relay publishing this table's rows through `options.transport`. Poll interval default 50 ms. */
  relay(options: RelayOptions): OutboxRelay;
  lag(): Promise<OutboxLag>;
  /** Create the tables if missing (or run sql/sqlite/001_outbox.sql yourself). */
  migrate(): void;
}

export function sqliteOutbox(options: SqliteOutboxOptions): SqliteOutbox {
  const o = optionsObject<SqliteOutboxOptions>(options, "sqlite outbox");
  const database = checkDatabase(o.database, "sqlite outbox: `database`");
  const table = tableName(o.table, DEFAULT_OUTBOX_TABLE, "sqlite outbox");
  const encoder = new OutboxEncoder(o as OutboxSettings, "sqlite outbox");
  const leaseMs = intOption(o.leaseMs, 10_000, 100, 3_600_000, "sqlite outbox leaseMs");
  const insertSql = `INSERT INTO "${table}" (message_id, topic, msg_key, lane, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`;
  const inserts = new WeakMap<Database.Database, Database.Statement>();
  // Statements are prepared here: a missing table is a ConfigurationError (run the migration).
  const source = (): SqliteRelaySource => {
    try {
      return new SqliteRelaySource(database, table, leaseMs);
    } catch (err) {
      throw toStoreError(err, "sqlite outbox", "preparing the relay's statements failed");
    }
  };
  return {
    table,
    add(db, definition, data, addOptions) {
      const handle = checkDatabase(db, "sqlite outbox: add's first argument");
      if (!handle.inTransaction) throw new ConfigurationError("sqlite outbox: add must run inside your transaction (db.transaction(() => { …; outbox.add(db, …) })())");
      const r = encoder.encodeSync(definition, data, addOptions);
      try {
        let insert = inserts.get(handle);
        if (!insert) inserts.set(handle, (insert = handle.prepare(insertSql)));
        insert.run(r.id, r.topic, r.key, r.lane, r.headers, r.body, r.createdAt);
      } catch (err) {
        throw toStoreError(err, "sqlite outbox", "insert failed");
      }
      return { id: r.id };
    },
    relay: (relayOptions) => startRelay(source(), relayOptions, { pollIntervalMs: 50 }),
    lag: async () => source().lag(),
    migrate() {
      try {
        runSqliteStatements(database, outboxSchema("sqlite", table));
      } catch (err) {
        throw toStoreError(err, "sqlite outbox", "migration failed");
      }
    },
  };
}

/**
 * The MySQL/MariaDB outbox: `add(connection, Contract, data)` inserts the
 * encoded message in the caller's transaction (a mysql2 promise connection
 * between beginTransaction and commit, or a Kysely transaction through
 * `missive/stores/kysely`); `relay({ transport })` publishes committed rows,
 * polling (default every 200 ms) or woken with `relay.wake()`.
 */
import type { Pool } from "mysql2/promise";
import { ConfigurationError } from "../../errors.js";
import type { MessageDefinition, MessageInput } from "../../contract/define-message.js";
import { OutboxEncoder, type OutboxAddOptions, type OutboxLag, type OutboxReceipt, type OutboxSettings } from "../outbox.js";
import { startRelay, type OutboxRelay, type RelayOptions } from "../relay.js";
import { toStoreError } from "../sql/errors.js";
import { isSqlExecutor, type SqlExecutor } from "../sql/executor.js";
import { DEFAULT_OUTBOX_TABLE, intOption, optionsObject, tableName } from "../sql/names.js";
import { outboxSchema } from "../sql/schema.js";
import { checkPool, runMysqlStatements } from "./pool.js";
import { MysqlRelaySource } from "./relay-source.js";

export interface MysqlOutboxOptions extends OutboxSettings {
  /** The pool relays and `lag()` use; `add` runs on the connection you pass it. */
  readonly pool: Pool;
  /** How many of the oldest unsent rows one relay claim considers. Default 1000. */
  readonly claimWindow?: number;
}

/** A mysql2 promise Connection or PoolConnection inside your transaction. */
export interface MysqlQueryable {
  query(sql: string, values?: unknown): Promise<unknown>;
}

export interface MysqlOutbox {
  readonly table: string;
  /** Validate, encode and insert, in the transaction `tx` is in. Resolves with the message id. */
  add<M extends MessageDefinition<string, unknown, unknown>>(tx: MysqlQueryable | SqlExecutor, definition: M, data: MessageInput<M>, options?: OutboxAddOptions): Promise<OutboxReceipt>;
  /** Start a relay publishing this table's rows through `options.transport`. Poll interval default 200 ms. */
  relay(options: RelayOptions): OutboxRelay;
  lag(): Promise<OutboxLag>;
  /** Create the table if missing (or run sql/mysql/001_outbox.sql yourself). */
  migrate(): Promise<void>;
}

export function mysqlOutbox(options: MysqlOutboxOptions): MysqlOutbox {
  const o = optionsObject<MysqlOutboxOptions>(options, "mysql outbox");
  const pool = checkPool(o.pool, "mysql outbox");
  const table = tableName(o.table, DEFAULT_OUTBOX_TABLE, "mysql outbox");
  const encoder = new OutboxEncoder(o as OutboxSettings, "mysql outbox");
  const window = intOption(o.claimWindow, 1000, 1, 100_000, "mysql outbox claimWindow");
  // A re-added id (same message) is a no-op, as on the other databases.
  const insert = `INSERT INTO \`${table}\` (message_id, topic, msg_key, lane, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE message_id = message_id`;
  return {
    table,
    async add(tx, definition, data, addOptions) {
      if (!isSqlExecutor(tx)) checkConnection(tx);
      const r = await encoder.encode(definition, data, addOptions);
      const params = [r.id, r.topic, r.key, r.lane, r.headers, r.body, r.createdAt];
      try {
        if (isSqlExecutor(tx)) await tx.run(insert, params);
        else await tx.query(insert, params);
      } catch (err) {
        throw toStoreError(err, "mysql outbox", "insert failed");
      }
      return { id: r.id };
    },
    relay: (relayOptions) => startRelay(new MysqlRelaySource(pool, table, window), relayOptions, { pollIntervalMs: 200 }),
    lag: () => new MysqlRelaySource(pool, table, window).lag(),
    migrate: () => runMysqlStatements(pool, outboxSchema("mysql", table)),
  };
}

function checkConnection(tx: unknown): void {
  const c = tx as Partial<MysqlQueryable> & { getConnection?: unknown } | null;
  if (!c || typeof c !== "object" || typeof c.query !== "function") {
    throw new ConfigurationError("mysql outbox: add needs the connection of your transaction (a mysql2/promise connection between beginTransaction and commit)");
  }
  // pool.query would run on some connection outside the caller's transaction.
  if (typeof c.getConnection === "function") throw new ConfigurationError("mysql outbox: add needs the connection of your transaction, not the pool");
}

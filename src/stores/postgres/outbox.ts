/**
 * The PostgreSQL outbox: `add(client, Contract, data)` inserts the encoded
 * message in the caller's transaction (a node-postgres client inside
 * BEGIN/COMMIT, or a Kysely transaction through `missive/stores/kysely`);
 * `relay({ transport })` publishes committed rows, woken by NOTIFY from the
 * table's trigger right after each commit, polling as the fallback.
 */
import type { Pool } from "pg";
import { ConfigurationError } from "../../errors.js";
import type { MessageDefinition, MessageInput } from "../../contract/define-message.js";
import { OutboxEncoder, type OutboxAddOptions, type OutboxLag, type OutboxReceipt, type OutboxSettings } from "../outbox.js";
import { startRelay, type OutboxRelay, type RelayOptions } from "../relay.js";
import { toStoreError } from "../sql/errors.js";
import { isSqlExecutor, type SqlExecutor } from "../sql/executor.js";
import { DEFAULT_OUTBOX_TABLE, intOption, optionsObject, tableName } from "../sql/names.js";
import { migratePostgres } from "./migrate.js";
import { checkPool } from "./pool.js";
import { PostgresRelaySource } from "./relay-source.js";

export interface PostgresOutboxOptions extends OutboxSettings {
  /** The pool relays and `lag()` use; `add` runs on the client you pass it. */
  readonly pool: Pool;
  /** How many of the oldest unsent rows one relay claim considers. Default 1000. */
  readonly claimWindow?: number;
}

/** Anything with node-postgres's `query(text, values)`: a Client or a PoolClient inside your transaction. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export interface PostgresOutbox {
  readonly table: string;
  /** Validate, encode and insert, in the transaction `tx` is in. Resolves with the message id. */
  add<M extends MessageDefinition<string, unknown, unknown>>(tx: PgQueryable | SqlExecutor, definition: M, data: MessageInput<M>, options?: OutboxAddOptions): Promise<OutboxReceipt>;
  /** Start a relay publishing this table's rows through `options.transport`. Poll interval default 1000 ms (NOTIFY wakes it sooner). */
  relay(options: RelayOptions): OutboxRelay;
  /** Unsent rows and the age of the oldest. */
  lag(): Promise<OutboxLag>;
  /** Create the table, its indexes and NOTIFY trigger if missing (or run sql/postgres/001_outbox.sql yourself). */
  migrate(): Promise<void>;
}

export function postgresOutbox(options: PostgresOutboxOptions): PostgresOutbox {
  const o = optionsObject<PostgresOutboxOptions>(options, "postgres outbox");
  const pool = checkPool(o.pool, "postgres outbox");
  const table = tableName(o.table, DEFAULT_OUTBOX_TABLE, "postgres outbox");
  const encoder = new OutboxEncoder(o as OutboxSettings, "postgres outbox");
  const window = intOption(o.claimWindow, 1000, 1, 100_000, "postgres outbox claimWindow");
  const insert = `INSERT INTO "${table}" (message_id, topic, msg_key, lane, headers, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING`;
  return {
    table,
    async add(tx, definition, data, addOptions) {
      if (!isSqlExecutor(tx)) checkClient(tx);
      const r = await encoder.encode(definition, data, addOptions);
      const params = [r.id, r.topic, r.key, r.lane, r.headers, r.body, r.createdAt];
      try {
        if (isSqlExecutor(tx)) await tx.run(insert, params);
        else await tx.query(insert, params);
      } catch (err) {
        throw toStoreError(err, "postgres outbox", "insert failed");
      }
      return { id: r.id };
    },
    relay(relayOptions) {
      // One connection LISTENs for the relay's whole life; claims need another.
      const max = (pool as { options?: { max?: unknown } }).options?.max;
      if (typeof max === "number" && max < 2) throw new ConfigurationError(`postgres outbox: a relay needs a pool of at least 2 connections (one LISTENs), got max ${max}`);
      return startRelay(new PostgresRelaySource(pool, table, window), relayOptions, { pollIntervalMs: 1000 });
    },
    lag: () => new PostgresRelaySource(pool, table, window).lag(),
    migrate: () => migratePostgres(pool, { outbox: table }),
  };
}

function checkClient(tx: unknown): void {
  const c = tx as Partial<PgQueryable> | null;
  if (!c || typeof c !== "object" || typeof c.query !== "function") {
    throw new ConfigurationError("postgres outbox: add needs the client of your transaction (a pg Client or PoolClient inside BEGIN … COMMIT)");
  }
  // pool.query would run on some connection outside the caller's transaction.
  if ("idleCount" in c) throw new ConfigurationError("postgres outbox: add needs the client of your transaction, not the pool (await pool.connect(), BEGIN, add, COMMIT)");
}

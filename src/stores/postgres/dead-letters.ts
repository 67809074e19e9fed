/**
 * The dead-letter table on PostgreSQL (src/stores/dead-letters.ts), through a
 * node-postgres pool. One statement per write: `INSERT … ON CONFLICT DO
 * UPDATE SET entry_id = DEFAULT` keeps one entry per (group, message id)
 * under a new entry id, atomically even when two copies race.
 */
import type { Pool } from "pg";
import { checkQuery, limitOf } from "../../transport/dead-letter-query.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterSummary } from "../../transport/transport.js";
import type { DeadLetterDatabase, NewDeadLetter } from "../dead-letters.js";
import { deadLetterSchema } from "../sql/dead-letter-schema.js";
import {
  INSERT_COLUMNS, SELECT_COLUMNS, SUMMARY_GROUP, SUMMARY_SELECT, deadLetterSettings, entryNumber, entryNumbers, rowValues, toDeadLetter, toSummary, whereOf,
  type DeadLetterStoreOptions,
} from "../sql/dead-letter-rows.js";
import { toStoreError } from "../sql/errors.js";
import { DEFAULT_DEAD_LETTER_TABLE, optionsObject, tableName } from "../sql/names.js";
import { runPostgresStatements } from "./migrate.js";
import { checkPool } from "./pool.js";

export interface PostgresDeadLettersOptions extends DeadLetterStoreOptions {
  /** The pool each statement takes a connection from. */
  readonly pool: Pool;
  /** Table name. Default `missive_dlq`. */
  readonly table?: string;
}

export interface PostgresDeadLetters extends DeadLetterDatabase {
  /** Create the table if it does not exist (or run sql/postgres/003_dead_letters.sql yourself). */
  migrate(): Promise<void>;
}

const STORE = "postgres dead letters";
const ph = (n: number): string => `$${n}`;

export function postgresDeadLetters(options: PostgresDeadLettersOptions): PostgresDeadLetters {
  const o = optionsObject<PostgresDeadLettersOptions>(options, STORE);
  const pool = checkPool(o.pool, STORE);
  const table = tableName(o.table, DEFAULT_DEAD_LETTER_TABLE, STORE);
  const settings = deadLetterSettings(o, STORE);
  const t = `"${table}"`;
  const columns = INSERT_COLUMNS.split(", ");
  const insert =
    `INSERT INTO ${t} (${INSERT_COLUMNS}) VALUES (${columns.map((_, i) => ph(i + 1)).join(", ")}) ` +
    `ON CONFLICT (group_name, message_key) DO UPDATE SET entry_id = DEFAULT, ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(", ")} RETURNING entry_id`;
  const query = async (what: string, sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> => {
    try {
      return (await pool.query(sql, params)).rows as Array<Record<string, unknown>>;
    } catch (err) {
      throw toStoreError(err, STORE, what);
    }
  };
  return {
    name: "postgres",
    table,
    migrate: () => runPostgresStatements(pool, deadLetterSchema("postgres", table)),
    async add(entry: NewDeadLetter): Promise<string> {
      const rows = await query("storing a dead letter failed", insert, rowValues(entry, settings, STORE));
      return String(rows[0]!["entry_id"]);
    },
    async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
      checkQuery(filter);
      const limit = limitOf(filter);
      let after: number | undefined;
      if (filter?.after !== undefined && (after = entryNumber(filter.after)) === undefined) return [];
      const w = whereOf(filter, ph, after);
      const rows = await query("reading dead letters failed", `SELECT ${SELECT_COLUMNS} FROM ${t}${w.sql} ORDER BY entry_id LIMIT ${ph(w.params.length + 1)}`, [...w.params, limit]);
      return rows.map(toDeadLetter);
    },
    async get(entryId: string): Promise<DeadLetter | undefined> {
      const id = entryNumber(entryId);
      if (id === undefined) return undefined;
      const rows = await query("reading a dead letter failed", `SELECT ${SELECT_COLUMNS} FROM ${t} WHERE entry_id = $1`, [id]);
      return rows[0] === undefined ? undefined : toDeadLetter(rows[0]);
    },
    async count(q?: DeadLetterQuery): Promise<number> {
      checkQuery(q);
      const w = whereOf(q, ph);
      const rows = await query("counting dead letters failed", `SELECT COUNT(*) AS n FROM ${t}${w.sql}`, w.params);
      return Number(rows[0]?.["n"] ?? 0);
    },
    async summary(q?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
      checkQuery(q);
      const w = whereOf(q, ph);
      return toSummary(await query("summarising dead letters failed", `${SUMMARY_SELECT} FROM ${t}${w.sql}${SUMMARY_GROUP}`, w.params));
    },
    async remove(entryIds: readonly string[]): Promise<number> {
      const ids = entryNumbers(entryIds);
      if (ids.length === 0) return 0;
      const rows = await query("removing dead letters failed", `DELETE FROM ${t} WHERE entry_id = ANY($1::bigint[]) RETURNING entry_id`, [ids]);
      return rows.length;
    },
  };
}

/**
 * The dead-letter table on MySQL ≥ 8.0 / MariaDB ≥ 10.6 (src/stores/dead-letters.ts),
 * through a mysql2 promise pool. `REPLACE INTO` keeps one entry per (group,
 * message id) under a new AUTO_INCREMENT entry id in one statement. Writes go
 * through prepared statements (binary protocol), so a body travels as raw
 * bytes and not as hex text twice its size; every value is checked against
 * its column before (dead-letter-rows.ts), so a server without strict mode
 * can never truncate one silently.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
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
import { checkPool, runMysqlStatements } from "./pool.js";

export interface MysqlDeadLettersOptions extends DeadLetterStoreOptions {
  /** A mysql2 promise pool (`mysql2/promise`). */
  readonly pool: Pool;
  /** Table name. Default `missive_dlq`. */
  readonly table?: string;
}

export interface MysqlDeadLetters extends DeadLetterDatabase {
  /** Create the table if it does not exist (or run sql/mysql/003_dead_letters.sql yourself). */
  migrate(): Promise<void>;
}

const STORE = "mysql dead letters";
const ph = (): string => "?";

export function mysqlDeadLetters(options: MysqlDeadLettersOptions): MysqlDeadLetters {
  const o = optionsObject<MysqlDeadLettersOptions>(options, STORE);
  const pool = checkPool(o.pool, STORE);
  const table = tableName(o.table, DEFAULT_DEAD_LETTER_TABLE, STORE);
  const settings = deadLetterSettings(o, STORE);
  const t = `\`${table}\``;
  const insert = `REPLACE INTO ${t} (${INSERT_COLUMNS}) VALUES (${INSERT_COLUMNS.split(", ").map(ph).join(", ")})`;
  const select = async (what: string, sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> => {
    try {
      // query(), not execute(): LIMIT and IN lists vary, and reads carry no large values.
      const [rows] = await pool.query<RowDataPacket[]>(sql, params);
      return rows;
    } catch (err) {
      throw toStoreError(err, STORE, what);
    }
  };
  return {
    name: "mysql",
    table,
    migrate: () => runMysqlStatements(pool, deadLetterSchema("mysql", table)),
    async add(entry: NewDeadLetter): Promise<string> {
      const values = rowValues(entry, settings, STORE);
      try {
        const [res] = await pool.execute<ResultSetHeader>(insert, values);
        return String(res.insertId);
      } catch (err) {
        throw toStoreError(err, STORE, "storing a dead letter failed");
      }
    },
    async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
      checkQuery(filter);
      const limit = limitOf(filter);
      let after: number | undefined;
      if (filter?.after !== undefined && (after = entryNumber(filter.after)) === undefined) return [];
      const w = whereOf(filter, ph, after);
      const rows = await select("reading dead letters failed", `SELECT ${SELECT_COLUMNS} FROM ${t}${w.sql} ORDER BY entry_id LIMIT ?`, [...w.params, limit]);
      return rows.map(toDeadLetter);
    },
    async get(entryId: string): Promise<DeadLetter | undefined> {
      const id = entryNumber(entryId);
      if (id === undefined) return undefined;
      const rows = await select("reading a dead letter failed", `SELECT ${SELECT_COLUMNS} FROM ${t} WHERE entry_id = ?`, [id]);
      return rows[0] === undefined ? undefined : toDeadLetter(rows[0]);
    },
    async count(q?: DeadLetterQuery): Promise<number> {
      checkQuery(q);
      const w = whereOf(q, ph);
      const rows = await select("counting dead letters failed", `SELECT COUNT(*) AS n FROM ${t}${w.sql}`, w.params);
      return Number(rows[0]?.["n"] ?? 0);
    },
    async summary(q?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
      checkQuery(q);
      const w = whereOf(q, ph);
      return toSummary(await select("summarising dead letters failed", `${SUMMARY_SELECT} FROM ${t}${w.sql}${SUMMARY_GROUP}`, w.params));
    },
    async remove(entryIds: readonly string[]): Promise<number> {
      const ids = entryNumbers(entryIds);
      if (ids.length === 0) return 0;
      try {
        const [res] = await pool.query<ResultSetHeader>(`DELETE FROM ${t} WHERE entry_id IN (?)`, [ids]);
        return res.affectedRows;
      } catch (err) {
        throw toStoreError(err, STORE, "removing dead letters failed");
      }
    },
  };
}

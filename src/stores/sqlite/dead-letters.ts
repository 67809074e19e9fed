/**
 * The dead-letter table on a plain better-sqlite3 database, usable with any
 * transport (src/stores/dead-letters.ts). One statement per write: `INSERT OR
 * REPLACE` keeps one entry per (group, message id), under a new entry id.
 */
import type Database from "better-sqlite3";
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
import { checkDatabase, runSqliteStatements } from "./database.js";

export interface SqliteDeadLettersOptions extends DeadLetterStoreOptions {
  /** The database the dead letters are kept in (may be the transport's own file: the table names differ). */
  readonly database: Database.Database;
  /** Table name. Default `missive_dlq`. */
  readonly table?: string;
}

export interface SqliteDeadLetters extends DeadLetterDatabase {
  /** Create the table if it does not exist (or run sql/sqlite/003_dead_letters.sql yourself). */
  migrate(): void;
}

const STORE = "sqlite dead letters";
const ph = (): string => "?";

export function sqliteDeadLetters(options: SqliteDeadLettersOptions): SqliteDeadLetters {
  const o = optionsObject<SqliteDeadLettersOptions>(options, STORE);
  const db = checkDatabase(o.database, `${STORE}: \`database\``);
  const table = tableName(o.table, DEFAULT_DEAD_LETTER_TABLE, STORE);
  const settings = deadLetterSettings(o, STORE);
  const t = `"${table}"`;
  const statements = new Map<string, Database.Statement>();
  // Prepared on first use (the table may be created by migrate() after the store), then cached per filter shape.
  const prepared = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const run = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, STORE, what);
    }
  };
  const placeholders = INSERT_COLUMNS.split(",").map(ph).join(", ");
  return {
    name: "sqlite",
    table,
    migrate: () => run("migration failed", () => runSqliteStatements(db, deadLetterSchema("sqlite", table))),
    async add(entry: NewDeadLetter): Promise<string> {
      const values = rowValues(entry, settings, STORE);
      const r = run("storing a dead letter failed", () => prepared(`INSERT OR REPLACE INTO ${t} (${INSERT_COLUMNS}) VALUES (${placeholders})`).run(...values));
      return String(r.lastInsertRowid);
    },
    async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
      checkQuery(filter);
      const limit = limitOf(filter);
      let after: number | undefined;
      if (filter?.after !== undefined && (after = entryNumber(filter.after)) === undefined) return [];
      const w = whereOf(filter, ph, after);
      const rows = run("reading dead letters failed", () => prepared(`SELECT ${SELECT_COLUMNS} FROM ${t}${w.sql} ORDER BY entry_id LIMIT ?`).all(...w.params, limit));
      return (rows as Array<Record<string, unknown>>).map(toDeadLetter);
    },
    async get(entryId: string): Promise<DeadLetter | undefined> {
      const id = entryNumber(entryId);
      if (id === undefined) return undefined;
      const row = run("reading a dead letter failed", () => prepared(`SELECT ${SELECT_COLUMNS} FROM ${t} WHERE entry_id = ?`).get(id));
      return row === undefined ? undefined : toDeadLetter(row as Record<string, unknown>);
    },
    async count(query?: DeadLetterQuery): Promise<number> {
      checkQuery(query);
      const w = whereOf(query, ph);
      const row = run("counting dead letters failed", () => prepared(`SELECT COUNT(*) AS n FROM ${t}${w.sql}`).get(...w.params)) as { n: number };
      return row.n;
    },
    async summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
      checkQuery(query);
      const w = whereOf(query, ph);
      const rows = run("summarising dead letters failed", () => prepared(`${SUMMARY_SELECT} FROM ${t}${w.sql}${SUMMARY_GROUP}`).all(...w.params));
      return toSummary(rows as Array<Record<string, unknown>>);
    },
    async remove(entryIds: readonly string[]): Promise<number> {
      const ids = entryNumbers(entryIds);
      if (ids.length === 0) return 0;
      const del = prepared(`DELETE FROM ${t} WHERE entry_id = ?`);
      return run("removing dead letters failed", () => db.transaction(() => ids.reduce((n, id) => n + del.run(id).changes, 0)).immediate());
    },
  };
}

/**
 * What the CLI checks before it lets the SQLite transport open a file, so
 * that no command ever makes a file into a database: opening a transport
 * switches the file to WAL and runs missive's DDL, which would turn an empty
 * file, someone else's SQLite database or an older missive file into a new
 * missive database. The file is looked at through a read-only connection.
 *
 * - Every command: the file exists, is not empty, is a SQLite database and
 *   holds missive's queue table.
 * - Read-only commands (`queues`, `dlq ls/show/summary`, `doctor`): also
 *   everything the transport would create or change is already there (every
 *   table, index and trigger, the current columns, WAL mode), so opening it
 *   writes nothing.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { ConfigurationError } from "../errors.js";
import { SQLITE_DEFAULTS } from "../transports/sqlite/options.js";
import { tableNames, transportSchema, upgradeStatements } from "../transports/sqlite/schema.js";
import { parseSqliteUrl } from "../transports/sqlite/url.js";
import { safeText } from "./output.js";

const HEADER = "SQLite format 3\u0000";
const CREATED = /CREATE\s+(?:TABLE|INDEX|TRIGGER)\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)/g;

/** Throws a ConfigurationError (exit 2) saying why the file cannot be opened by this command. */
export function checkSqliteFile(url: string, readOnly: boolean): void {
  const options = parseSqliteUrl(url);
  const path = options.path;
  if (path === ":memory:") return;
  const shown = JSON.stringify(safeText(path));
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new ConfigurationError(`sqlite: no database file at ${shown} (the CLI never creates one)`, { cause });
  }
  if (size === 0) throw new ConfigurationError(`sqlite: ${shown} is an empty file, not a missive database (the CLI never makes a file into one)`);
  if (!startsWithHeader(path)) throw new ConfigurationError(`sqlite: ${shown} is not a SQLite database`);
  const prefix = options.tablePrefix ?? SQLITE_DEFAULTS.tablePrefix;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new ConfigurationError(`sqlite: cannot open ${shown} read-only: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  try {
    db.pragma("busy_timeout = 5000");
    const names = new Set(db.prepare("SELECT name FROM sqlite_master").pluck().all() as string[]);
    const queue = tableNames(prefix).queue;
    if (!names.has(queue)) throw new ConfigurationError(`sqlite: ${shown} is not a missive database (it has no ${queue} table; a missive service makes it)`);
    if (!readOnly) return;
    const missing = [...transportSchema(prefix).matchAll(CREATED)].map((m) => m[1]!).filter((n) => !names.has(n));
    const columns = (db.pragma(`table_info(${queue})`) as Array<{ name: string }>).map((c) => c.name);
    const mode = String(db.pragma("journal_mode", { simple: true }));
    const why = [
      ...(missing.length > 0 ? [`it lacks ${missing.join(", ")}`] : []),
      ...(upgradeStatements(prefix, columns) !== "" ? [`its ${queue} table is of an older version`] : []),
      ...(mode !== "wal" ? [`its journal mode is ${mode}, not wal`] : []),
    ];
    if (why.length > 0) {
      throw new ConfigurationError(`sqlite: ${shown} is not a complete missive database of this version (${why.join("; ")}); this command only reads and will not change it: open it once with a missive service of this version`);
    }
  } finally {
    db.close();
  }
}

function startsWithHeader(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(HEADER.length);
    return readSync(fd, buffer, 0, buffer.length, 0) === buffer.length && buffer.toString("latin1") === HEADER;
  } finally {
    closeSync(fd);
  }
}

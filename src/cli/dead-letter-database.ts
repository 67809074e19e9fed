/**
 * `--dead-letters <db-url>`: the database dead-letter store the `dlq`
 * commands work on, opened from a URL (postgres://, mysql://, mariadb://,
 * sqlite://, or a bare SQLite file path). Like every command, it creates
 * nothing: the SQLite file and the table must exist (`missive migrate --only
 * dead-letters`). The client library is loaded only for the dialect named.
 */
import { ConfigurationError } from "../errors.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import { dialectOf, load, sqlitePath } from "./database-url.js";

export interface OpenedDeadLetters {
  readonly store: DeadLetterDatabase;
  close(): Promise<void>;
}

export async function openDeadLetterDatabase(url: string, table: string): Promise<OpenedDeadLetters> {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  const dialect = hasScheme ? dialectOf(url) : "sqlite";
  if (dialect === "postgres") {
    const { default: pg } = await load("pg", () => import("pg"));
    const { postgresDeadLetters } = await import("../stores/postgres/dead-letters.js");
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 });
    // An idle client's error surfaces on its next query; the pool's event must not crash the command meanwhile.
    pool.on("error", (err: Error) => void process.stderr.write(`warning: dead-letter database connection failed while idle: ${err.message}\n`));
    return { store: postgresDeadLetters({ pool, table }), close: () => pool.end() };
  }
  if (dialect === "mysql") {
    const mysql = await load("mysql2", () => import("mysql2/promise"));
    const { mysqlDeadLetters } = await import("../stores/mysql/dead-letters.js");
    const pool = mysql.createPool({ uri: url.replace(/^mariadb:/i, "mysql:"), connectionLimit: 2, connectTimeout: 10_000 });
    return { store: mysqlDeadLetters({ pool, table }), close: () => pool.end() };
  }
  const { default: Database } = await import("better-sqlite3");
  const { sqliteDeadLetters } = await import("../stores/sqlite/dead-letters.js");
  const path = hasScheme ? sqlitePath(url) : url;
  let db;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch (cause) {
    throw new ConfigurationError(`--dead-letters: cannot open the SQLite file ${JSON.stringify(path)} (it must exist: the CLI never creates one)`, { cause });
  }
  db.pragma("busy_timeout = 5000");
  const opened = db;
  return { store: sqliteDeadLetters({ database: opened, table }), close: async () => void opened.close() };
}

/**
 * A database URL for `missive migrate`: which dialect, and running statements
 * on it. The client libraries are optional peer dependencies, loaded only
 * for the dialect the URL names. Like every command, it never creates what
 * the URL names: a SQLite file must exist.
 */
import { cleanUp } from "./cleanup.js";
import { ConfigurationError } from "../errors.js";
import { redact } from "../redact.js";
import type { OutboxLag } from "../stores/outbox.js";
import type { Dialect } from "../stores/sql/schema.js";

/** The dialect of a database URL; `command` names the command in the error (`migrate`, `outbox status`). */
export function dialectOf(url: string, command = "migrate"): Dialect {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (scheme === "mysql" || scheme === "mariadb") return "mysql";
  if (scheme === "sqlite") return "sqlite";
  throw new ConfigurationError(`${command}: a database URL is postgres://, mysql://, mariadb:// or sqlite://, got ${JSON.stringify(redact(url).slice(0, 100))}`);
}

export async function load<T>(name: string, loader: () => Promise<T>): Promise<T> {
  try {
    return await loader();
  } catch (cause) {
    throw new ConfigurationError(`migrate: this URL needs the ${name} package (npm install ${name})`, { cause });
  }
}

/** The outbox's lag on the database at `url`: unsent rows and the age of the oldest. */
export async function outboxLagAt(url: string, table: string): Promise<OutboxLag> {
  const dialect = dialectOf(url, "outbox status");
  if (dialect === "postgres") {
    const { default: pg } = await load("pg", () => import("pg"));
    const { postgresOutbox } = await import("../stores/postgres/outbox.js");
    const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
    // An idle client's error: the command's own query fails with it and reports it.
    pool.on("error", () => undefined);
    try {
      return await postgresOutbox({ pool, table, source: "missive-cli" }).lag();
    } finally {
      await cleanUp("closing the database connection", () => pool.end());
    }
  }
  if (dialect === "mysql") {
    const mysql = await load("mysql2", () => import("mysql2/promise"));
    const { mysqlOutbox } = await import("../stores/mysql/outbox.js");
    const pool = mysql.createPool({ uri: url.replace(/^mariadb:/i, "mysql:"), connectionLimit: 1, connectTimeout: 10_000 });
    try {
      return await mysqlOutbox({ pool, table, source: "missive-cli" }).lag();
    } finally {
      await cleanUp("closing the database connection", () => pool.end());
    }
  }
  const { default: Database } = await import("better-sqlite3");
  const { sqliteOutbox } = await import("../stores/sqlite/outbox.js");
  const path = sqlitePath(url, "outbox status");
  let db;
  try {
    db = new Database(path, { fileMustExist: true, readonly: true });
  } catch (cause) {
    throw new ConfigurationError(`outbox: cannot open the SQLite file ${JSON.stringify(path)} (it must exist: the CLI never creates one)`, { cause });
  }
  try {
    return await sqliteOutbox({ database: db, table, source: "missive-cli" }).lag();
  } finally {
    db.close();
  }
}

/** Run `statements` on the database at `url`, each table's creation idempotent and serialised across processes. */
export async function runOnDatabase(url: string, statements: readonly string[]): Promise<void> {
  const dialect = dialectOf(url);
  if (dialect === "postgres") {
    const { default: pg } = await load("pg", () => import("pg"));
    const { runPostgresStatements } = await import("../stores/postgres/migrate.js");
    const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
    // An idle client's error: the command's own query fails with it and reports it.
    pool.on("error", () => undefined);
    try {
      await runPostgresStatements(pool, statements);
    } finally {
      await cleanUp("closing the database connection", () => pool.end());
    }
  } else if (dialect === "mysql") {
    const mysql = await load("mysql2", () => import("mysql2/promise"));
    const { runMysqlStatements } = await import("../stores/mysql/pool.js");
    const pool = mysql.createPool({ uri: url.replace(/^mariadb:/i, "mysql:"), connectionLimit: 1, connectTimeout: 10_000 });
    try {
      await runMysqlStatements(pool, statements);
    } finally {
      await cleanUp("closing the database connection", () => pool.end());
    }
  } else {
    const { default: Database } = await import("better-sqlite3");
    const { runSqliteStatements } = await import("../stores/sqlite/database.js");
    const path = sqlitePath(url);
    let db;
    try {
      db = new Database(path, { fileMustExist: true });
    } catch (cause) {
      throw new ConfigurationError(`migrate: cannot open the SQLite file ${JSON.stringify(path)} (it must exist: the CLI never creates one)`, { cause });
    }
    try {
      db.pragma("busy_timeout = 5000");
      runSqliteStatements(db, statements);
    } finally {
      db.close();
    }
  }
}

export function sqlitePath(url: string, command = "migrate"): string {
  const rest = url.slice("sqlite://".length).split("?")[0] ?? "";
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch (cause) {
    throw new ConfigurationError(`${command}: URL path ${JSON.stringify(rest)} has a malformed %-escape`, { cause });
  }
  if (path === "" || path === "/") throw new ConfigurationError(`${command}: the sqlite:// URL names no database file`);
  return path;
}

/**
 * Opens the database file the way every missive connection must see it:
 * busy timeout first (so the WAL switch and DDL wait for other processes
 * instead of failing), WAL so readers never block the writer, the chosen
 * `synchronous`, then the schema in one IMMEDIATE transaction.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { ConfigurationError } from "../../errors.js";
import type { ResolvedSqliteOptions } from "./options.js";
import { tableNames, transportSchema, upgradeStatements } from "./schema.js";
import { isBusy, toTransportError } from "./sqlite-errors.js";

// Caps the WAL file size left after a checkpoint, so a burst does not leave a huge file behind.
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

export function openDatabase(options: ResolvedSqliteOptions): Database.Database {
  let db: Database.Database;
  if (!options.create && options.path !== ":memory:" && !existsSync(options.path)) {
    throw new ConfigurationError(`sqlite transport: no database file at ${JSON.stringify(options.path)}`);
  }
  try {
    db = new Database(options.path);
  } catch (cause) {
    throw new ConfigurationError(`sqlite transport: cannot open database file ${JSON.stringify(options.path)}: ${messageOf(cause)}`, { cause });
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal" && !db.memory) {
      throw new ConfigurationError(`sqlite transport: ${JSON.stringify(options.path)} cannot use WAL mode (journal_mode is ${String(mode)})`);
    }
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    const prefix = options.tablePrefix;
    const ddl = transportSchema(prefix);
    db.transaction(() => {
      const columns = (db.pragma(`table_info(${tableNames(prefix).queue})`) as Array<{ name: string }>).map((c) => c.name);
      const upgrade = upgradeStatements(prefix, columns);
      if (upgrade !== "") db.exec(upgrade);
      db.exec(ddl);
    }).immediate();
    return db;
  } catch (cause) {
    db.close();
    if (cause instanceof ConfigurationError) throw cause;
    // Another process held the lock past the busy timeout: worth retrying, not a configuration fault.
    if (isBusy(cause)) throw toTransportError(cause, `opening ${JSON.stringify(options.path)}`);
    throw new ConfigurationError(`sqlite transport: cannot use ${JSON.stringify(options.path)} as a missive database: ${messageOf(cause)}`, { cause });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

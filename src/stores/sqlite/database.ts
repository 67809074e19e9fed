/** Checks that an option or argument is a better-sqlite3 Database handle. */
import type Database from "better-sqlite3";
import { ConfigurationError } from "../../errors.js";

export function checkDatabase(value: unknown, what: string): Database.Database {
  const d = value as Partial<Database.Database> | null | undefined;
  if (!d || typeof d !== "object" || typeof d.prepare !== "function" || typeof d.transaction !== "function" || typeof d.inTransaction !== "boolean") {
    throw new ConfigurationError(`${what} must be a better-sqlite3 Database`);
  }
  if (d.open === false) throw new ConfigurationError(`${what}: the database is closed`);
  return d as Database.Database;
}

export function runSqliteStatements(db: Database.Database, statements: readonly string[]): void {
  db.transaction(() => {
    for (const s of statements) db.exec(s);
  }).immediate();
}

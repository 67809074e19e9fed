/**
 * Maps node-postgres, mysql2 and better-sqlite3 failures onto missive's typed
 * errors, keeping the driver's error as `cause`: credentials refused →
 * AuthenticationError; a missing table → ConfigurationError (run the
 * migration); anything else → ConnectionError (retryable: the database may
 * be down, restarting, or the statement lost a deadlock).
 */
import { AuthenticationError, ConfigurationError, ConnectionError, MissiveError } from "../../errors.js";

function codeOf(err: unknown): string {
  if (err !== null && typeof err === "object" && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string" || typeof code === "number") return String(code);
  }
  return "";
}

// PostgreSQL SQLSTATEs and mysql2 error codes.
const AUTH = new Set(["28P01", "28000", "ER_ACCESS_DENIED_ERROR", "ER_DBACCESS_DENIED_ERROR"]);
const MISSING = new Set(["42P01", "3F000", "3D000", "ER_NO_SUCH_TABLE", "ER_BAD_DB_ERROR", "SQLITE_ERROR"]);

export function toStoreError(err: unknown, store: string, what: string): MissiveError {
  if (err instanceof MissiveError) return err;
  const code = codeOf(err);
  const detail = `${store}: ${what}: ${err instanceof Error ? err.message : String(err)}${code ? ` (${code})` : ""}`;
  if (AUTH.has(code)) return new AuthenticationError(detail, { cause: err });
  if (MISSING.has(code) && /no such table|does not exist|doesn't exist|unknown database/i.test(err instanceof Error ? err.message : "")) {
    return new ConfigurationError(`${detail}; create the tables first (missive migrate, or the SQL files under sql/)`, { cause: err });
  }
  return new ConnectionError(detail, { cause: err });
}

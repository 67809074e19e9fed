/**
 * Maps better-sqlite3 failures onto missive's typed errors, keeping the
 * original as `cause`. Callers branch on `code`, never on SQLite's text.
 */
import { ConfigurationError, ConnectionError, MissiveError } from "../../errors.js";

/** SQLite result codes (primary names, as better-sqlite3 reports them in `code`). */
function sqliteCode(err: unknown): string | undefined {
  if (err !== null && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** Another connection held the write lock past the busy timeout. */
export function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

// Failures that no retry can fix: the file is not usable as configured.
const CONFIG_CODES = ["SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_PERM", "SQLITE_AUTH"];

/** A MissiveError for a failed SQLite operation: ConfigurationError when the file is unusable, ConnectionError (retryable) otherwise. */
export function toTransportError(err: unknown, what: string): MissiveError {
  if (err instanceof MissiveError) return err;
  const code = sqliteCode(err) ?? "";
  const detail = err instanceof Error ? err.message : String(err);
  if (CONFIG_CODES.some((c) => code.startsWith(c))) return new ConfigurationError(`sqlite transport: ${what}: ${detail} (${code})`, { cause: err });
  return new ConnectionError(`sqlite transport: ${what}: ${detail}${code ? ` (${code})` : ""}`, { cause: err });
}

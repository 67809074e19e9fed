/**
 * Options of the SQLite transport, and the one function that applies their
 * defaults and validates them (STYLE.md §7).
 */
import { ConfigurationError } from "../../errors.js";

export type SqliteSynchronous = "FULL" | "NORMAL";

export interface SqliteTransportOptions {
  /** Database file. Relative paths resolve against the process's working directory. Required. */
  readonly path: string;
  /**
   * `PRAGMA synchronous`. `FULL` (the default) fsyncs the WAL on every commit, so a
   * resolved `publish` survives power loss; `NORMAL` survives a process crash but
   * may lose the last commits on power loss, for fewer fsyncs.
   */
  readonly synchronous?: SqliteSynchronous;
  /** How long a writer waits for another connection's write lock before failing, ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** First interval at which a waiting `receive` polls `PRAGMA data_version` for other processes' commits, ms. Default 2. */
  readonly pollMinMs?: number;
  /** The poll interval doubles while nothing changes, up to this, ms. Default 100. */
  readonly pollMaxMs?: number;
  /** Prefix of every table, index and trigger missive creates, so several buses can share one file. Default `missive_`. */
  readonly tablePrefix?: string;
  /** Largest message accepted by `publish` (headers JSON + body), bytes. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /**
   * Create the database file when it does not exist. Default `true`; the CLI
   * passes `false`, so a mistyped path is an error rather than a new empty queue.
   */
  readonly create?: boolean;
}

/** Options after defaults: every field present and valid. */
export interface ResolvedSqliteOptions {
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  readonly busyTimeoutMs: number;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  readonly tablePrefix: string;
  readonly maxMessageBytes: number;
  readonly create: boolean;
}

export const SQLITE_DEFAULTS = Object.freeze({
  synchronous: "FULL" as SqliteSynchronous,
  busyTimeoutMs: 5000,
  pollMinMs: 2,
  pollMaxMs: 100,
  tablePrefix: "missive_",
  maxMessageBytes: 64 * 1024 * 1024,
});

// The prefix is spliced into DDL and SQL text, so it must be a plain identifier.
export const TABLE_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,48}$/;

export function resolveSqliteOptions(options: SqliteTransportOptions): ResolvedSqliteOptions {
  if (options === null || typeof options !== "object") throw new ConfigurationError("sqlite transport: options must be an object or a sqlite:// URL");
  const { path } = options;
  if (typeof path !== "string" || path.trim() === "") throw new ConfigurationError("sqlite transport: `path` must name a database file");
  if (path.includes("\0")) throw new ConfigurationError("sqlite transport: `path` contains a NUL byte");
  const synchronous = options.synchronous ?? SQLITE_DEFAULTS.synchronous;
  const sync = String(synchronous).toUpperCase();
  if (sync !== "FULL" && sync !== "NORMAL") {
    throw new ConfigurationError(`sqlite transport: \`synchronous\` must be "FULL" or "NORMAL", got ${JSON.stringify(synchronous)}`);
  }
  const tablePrefix = options.tablePrefix ?? SQLITE_DEFAULTS.tablePrefix;
  if (typeof tablePrefix !== "string" || !TABLE_PREFIX.test(tablePrefix)) {
    throw new ConfigurationError(`sqlite transport: \`tablePrefix\` must match ${TABLE_PREFIX.source}, got ${JSON.stringify(tablePrefix)}`);
  }
  const busyTimeoutMs = integerOption("busyTimeoutMs", options.busyTimeoutMs, SQLITE_DEFAULTS.busyTimeoutMs, 0);
  const pollMinMs = integerOption("pollMinMs", options.pollMinMs, SQLITE_DEFAULTS.pollMinMs, 1);
  const pollMaxMs = integerOption("pollMaxMs", options.pollMaxMs, Math.max(SQLITE_DEFAULTS.pollMaxMs, pollMinMs), 1);
  if (pollMaxMs < pollMinMs) throw new ConfigurationError(`sqlite transport: \`pollMaxMs\` (${pollMaxMs}) is below \`pollMinMs\` (${pollMinMs})`);
  const maxMessageBytes = integerOption("maxMessageBytes", options.maxMessageBytes, SQLITE_DEFAULTS.maxMessageBytes, 1);
  if (options.create !== undefined && typeof options.create !== "boolean") throw new ConfigurationError("sqlite transport: `create` must be a boolean");
  const create = options.create ?? true;
  return Object.freeze({ path, synchronous: sync, busyTimeoutMs, pollMinMs, pollMaxMs, tablePrefix, maxMessageBytes, create });
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigurationError(`sqlite transport: \`${name}\` must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

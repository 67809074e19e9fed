/**
 * Options of the PostgreSQL transport, and the one function that applies
 * their defaults and validates them (STYLE.md §7); `postgres://` URLs.
 */
import type { Pool } from "pg";
import { ConfigurationError } from "../../errors.js";
import { checkPool } from "../../stores/postgres/pool.js";
import { DEFAULT_TABLE_PREFIX } from "./schema.js";

export interface PostgresTransportOptions {
  /** `postgres://user:pass@host:5432/db`. One of `connectionString` and `pool` is required. */
  readonly connectionString?: string;
  /** Your node-postgres Pool: the transport queries through it and leaves it open on close (it is yours to end). */
  readonly pool?: Pool;
  /** Prefix of every table, index, function and channel the transport uses, so several buses can share one database. Default `missive_`. */
  readonly tablePrefix?: string;
  /**
   * Wake consumers with NOTIFY at commit (default `true`). PostgreSQL takes a
   * database-wide lock to queue notifications at commit, so many concurrent
   * publishing transactions serialise on it; `false` leaves consumers to poll
   * (`pollMinMs`..`pollMaxMs`). docs/transports/postgres.md says when.
   */
  readonly notify?: boolean;
  /** First interval at which an idle `receive` claims again, ms. Default 5. */
  readonly pollMinMs?: number;
  /** The poll interval doubles while nothing comes, up to this, ms; with NOTIFY healthy, the fallback poll. Default 500. */
  readonly pollMaxMs?: number;
  /** Create the tables (idempotent) on connect. Default `true`; `false` expects `missive migrate --only transport` (or sql/postgres/004_transport.sql, 005_key_trigger.sql and 006_key_lock_buckets.sql) to have run. */
  readonly migrate?: boolean;
  /** Largest message accepted by `publish` (headers JSON + body), bytes. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Connections in the pool the transport opens from `connectionString`. Default 10. */
  readonly poolMax?: number;
  /**
   * Where the LISTEN connection goes, when not where the pool goes: LISTEN needs a session of its own, so
   * behind PgBouncer in transaction mode point this at the server itself. Default: the pool's server.
   */
  readonly listenConnectionString?: string;
  /**
   * A statement on the transport's own pool that has no answer within this long fails (node-postgres
   * `query_timeout`) and its connection is dropped, ms. Default 30000. Without it a statement sent into a
   * blackholed network waits for the kernel to give up on the connection (many minutes). Not applied to a `pool` you give.
   */
  readonly queryTimeoutMs?: number;
  /**
   * After this many rows acked by this transport, it runs `VACUUM (SKIP_LOCKED)` on the queue table in the
   * background, so a busy queue does not wait for autovacuum's once-a-minute look (src/transports/postgres/vacuum.ts).
   * Default 10000; 0 leaves the table to autovacuum alone.
   */
  readonly vacuumEvery?: number;
  /** How often the LISTEN connection must answer a `SELECT 1` (and within how long) before it is replaced as half-open, ms. Default 5000. */
  readonly listenCheckMs?: number;
}

export interface ResolvedPostgresOptions {
  readonly connectionString: string | undefined;
  readonly pool: Pool | undefined;
  readonly tablePrefix: string;
  readonly notify: boolean;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  readonly migrate: boolean;
  readonly maxMessageBytes: number;
  readonly poolMax: number;
  readonly listenConnectionString: string | undefined;
  readonly listenCheckMs: number;
  readonly queryTimeoutMs: number;
  readonly vacuumEvery: number;
}

const PREFIX = /^[a-z_][a-z0-9_]{0,39}$/;
/** bytea holds at most 1 GB; far below it, a message this big belongs in object storage. */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export function resolvePostgresOptions(o: PostgresTransportOptions): ResolvedPostgresOptions {
  if (o === null || typeof o !== "object") throw new ConfigurationError("postgres transport: options must be an object");
  const pool = o.pool === undefined ? undefined : checkPool(o.pool, "postgres transport");
  if (o.listenConnectionString !== undefined && (typeof o.listenConnectionString !== "string" || o.listenConnectionString === "")) {
    throw new ConfigurationError("postgres transport: listenConnectionString must be a postgres:// URL");
  }
  if (pool === undefined && (typeof o.connectionString !== "string" || o.connectionString === "")) {
    throw new ConfigurationError("postgres transport: give a `connectionString` (postgres://…) or a `pool`");
  }
  const prefix = checkTablePrefix(o.tablePrefix ?? DEFAULT_TABLE_PREFIX, "postgres transport: tablePrefix");
  const int = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) throw new ConfigurationError(`postgres transport: ${name} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const pollMinMs = int("pollMinMs", o.pollMinMs, 5, 1);
  const pollMaxMs = int("pollMaxMs", o.pollMaxMs, 500, 1);
  if (pollMaxMs < pollMinMs) throw new ConfigurationError(`postgres transport: pollMaxMs (${pollMaxMs}) must be >= pollMinMs (${pollMinMs})`);
  return {
    connectionString: o.connectionString,
    pool,
    tablePrefix: prefix,
    notify: o.notify ?? true,
    pollMinMs,
    pollMaxMs,
    migrate: o.migrate ?? true,
    maxMessageBytes: int("maxMessageBytes", o.maxMessageBytes, DEFAULT_MAX_BYTES, 1),
    poolMax: int("poolMax", o.poolMax, 10, 1),
    listenConnectionString: o.listenConnectionString,
    listenCheckMs: int("listenCheckMs", o.listenCheckMs, 5_000, 50),
    queryTimeoutMs: int("queryTimeoutMs", o.queryTimeoutMs, 30_000, 100),
    vacuumEvery: int("vacuumEvery", o.vacuumEvery, 10_000, 0),
  };
}

/** Query parameters the transport reads off a `postgres://` URL (the rest stay for node-postgres: sslmode, …). */
const OURS = ["tablePrefix", "notify", "pollMinMs", "pollMaxMs", "migrate", "maxMessageBytes", "poolMax", "listenCheckMs", "queryTimeoutMs", "vacuumEvery"] as const;

/** A prefix goes into identifiers unquoted: lower-case letters, digits and _ only. */
export function checkTablePrefix(prefix: unknown, what: string): string {
  if (typeof prefix !== "string" || !PREFIX.test(prefix)) throw new ConfigurationError(`${what} must be lower-case letters, digits and _ (not starting with a digit, at most 40), got ${JSON.stringify(prefix)}`);
  return prefix;
}

/** `postgres://…?tablePrefix=app_&notify=false`: transport options, and the URL without them for node-postgres. */
export function parsePostgresUrl(url: string): PostgresTransportOptions {
  if (typeof url !== "string" || !/^postgres(ql)?:\/\//i.test(url)) throw new ConfigurationError("postgres transport: the URL must start with postgres:// or postgresql://");
  const q = url.indexOf("?");
  if (q === -1) return { connectionString: url };
  const params = new URLSearchParams(url.slice(q + 1));
  const options: { -readonly [K in keyof PostgresTransportOptions]: PostgresTransportOptions[K] } = {};
  for (const name of OURS) {
    const value = params.get(name);
    if (value === null) continue;
    params.delete(name);
    if (name === "tablePrefix") options.tablePrefix = value;
    else if (name === "notify" || name === "migrate") {
      if (value !== "true" && value !== "false") throw new ConfigurationError(`postgres transport: URL parameter ${name} must be true or false, got ${JSON.stringify(value)}`);
      options[name] = value === "true";
    } else {
      const n = Number(value);
      if (value.trim() === "" || !Number.isSafeInteger(n)) throw new ConfigurationError(`postgres transport: URL parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
      options[name] = n;
    }
  }
  const rest = params.toString();
  options.connectionString = url.slice(0, q) + (rest === "" ? "" : `?${rest}`);
  return options;
}

/**
 * The PostgreSQL transport's tables (documented for plain clients in
 * docs/transports/postgres.md; shipped as sql/postgres/004_transport.sql,
 * 005_key_trigger.sql, which replaces 004's key trigger function, and
 * 006_key_lock_buckets.sql, which replaces both key trigger functions).
 *
 * One queue row per (group, message), as on SQLite: publish fans a message
 * out into every bound group's rows, consumers claim rows with
 * `FOR UPDATE SKIP LOCKED` and hold them under a lease (`visible_at` +
 * `lease_token`). `blocked` keeps key order for ordered consumers: it is
 * false exactly for the head (lowest seq) of each (group, key). Unlike
 * SQLite, writers run concurrently, so the triggers serialise each
 * (group, key) with a transaction-scoped advisory lock (its hash bucket's,
 * so a transaction's locks are bounded) and take the row's
 * seq only once they hold it: seq order within a key is then commit order,
 * and an insert never misses a head another transaction is deleting.
 */

import { inboxSchema } from "../../stores/sql/schema.js";

export const SCHEMA_VERSION = 1;

/** Table names for one prefix. The prefix is validated as an identifier before it gets here. */
export interface PgTableNames {
  readonly meta: string;
  readonly groups: string;
  readonly bindings: string;
  readonly queue: string;
  readonly deadLetters: string;
  readonly consumers: string;
  readonly inbox: string;
  readonly reports: string;
  /** The LISTEN/NOTIFY channel publishes and settles wake consumers on (payload: the group). */
  readonly channel: string;
}

export const DEFAULT_TABLE_PREFIX = "missive_";

export function pgTableNames(prefix: string): PgTableNames {
  return {
    meta: `${prefix}meta`,
    groups: `${prefix}groups`,
    bindings: `${prefix}bindings`,
    queue: `${prefix}queue`,
    deadLetters: `${prefix}dead_letters`,
    consumers: `${prefix}consumers`,
    inbox: `${prefix}inbox`,
    reports: `${prefix}service_reports`,
    channel: `${prefix}wake`,
  };
}

/** The server's clock in unix ms: every lease and delay is measured on it, so hosts with skewed clocks agree. */
export const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/**
 * How many advisory locks serialise the writers of keys: a (group, key) takes the lock of its hash bucket, so a
 * transaction holds at most this many whatever its batch. 004 and 005 took one lock per (group, key), held to the
 * commit: a batch of ~20,000 distinct keys ran the server's lock table out ("out of shared memory", whose size is
 * max_locks_per_transaction × connections: 6,400 by default for the whole server). Since the buckets' locks are
 * exclusive, a database never holds more than this many of them at once, across every transaction and prefix.
 * The price: keys of one bucket wait for each other's writers, which keeps their order but shares the waits.
 */
export const KEY_LOCK_BUCKETS = 1024;

/** The buckets' lock ids start here ("missiv" in ASCII, then 16 bits for the bucket): apart from other users' advisory locks. */
const KEY_LOCK_BASE = (0x6d6973736976n << 16n).toString();

/**
 * The id of a (group, key)'s advisory lock, as SQL over two expressions: the lock of its bucket, which the key
 * triggers take and statements touching many keys take first in id order (queue-store.ts).
 */
export function keyLockId(group: string, key: string): string {
  return `(${KEY_LOCK_BASE} + (hashtextextended(${group} || chr(1) || ${key}, 7340146215) & ${KEY_LOCK_BUCKETS - 1}))`;
}

/** 004's and 005's lock id: one per (group, key), with a separator no name can hold. Their shipped SQL keeps it. */
function perKeyLockId(group: string, key: string): string {
  return `hashtextextended(${group} || chr(1) || ${key}, 7340146215)`;
}

type LockId = (group: string, key: string) => string;

/** The schema as separate statements (each idempotent), in order: 004's, then 005's, then 006's. */
export function pgTransportSchema(prefix: string): string[] {
  return [...pgTransportSchema004(prefix), ...pgKeyTrigger005(prefix), ...pgKeyLockBuckets006(prefix)];
}

/** sql/postgres/004_transport.sql's statements: shipped, so never changed (a change is a new migration). */
function pgTransportSchema004(prefix: string): string[] {
  const t = pgTableNames(prefix);
  return [
    `CREATE TABLE IF NOT EXISTS ${t.meta} (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
)`,
    `CREATE TABLE IF NOT EXISTS ${t.groups} (
  group_name TEXT PRIMARY KEY,
  temporary BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL DEFAULT ${NOW_MS}
)`,
    `CREATE TABLE IF NOT EXISTS ${t.bindings} (
  topic TEXT NOT NULL,
  group_name TEXT NOT NULL,
  temporary BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL DEFAULT ${NOW_MS},
  PRIMARY KEY (topic, group_name)
)`,
    `CREATE INDEX IF NOT EXISTS ${prefix}bindings_group ON ${t.bindings} (group_name)`,
    // Rows are updated in place by claims and renewals: room on each page keeps those HOT updates.
    `CREATE TABLE IF NOT EXISTS ${t.queue} (
  seq BIGSERIAL PRIMARY KEY,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  key TEXT,
  headers TEXT NOT NULL DEFAULT '{}',
  body BYTEA NOT NULL DEFAULT '\\x',
  visible_at BIGINT NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_token TEXT,
  enqueued_at BIGINT NOT NULL DEFAULT ${NOW_MS},
  blocked BOOLEAN NOT NULL DEFAULT false,
  priority SMALLINT NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9)
) WITH (fillfactor = 70)`,
    // Claims: highest priority first, then earliest visible, seq breaking ties. Ordered claims read key heads only.
    // Every message leaves a few dead row versions (insert, claim, delete): vacuum the queue by a fixed count of
    // them, unthrottled, rather than by a fraction of a table that is mostly empty (bench/postgres-churn.ts).
    `ALTER TABLE ${t.queue} SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000)`,
    `CREATE INDEX IF NOT EXISTS ${prefix}queue_claim ON ${t.queue} (group_name, priority DESC, visible_at, seq)`,
    `CREATE INDEX IF NOT EXISTS ${prefix}queue_claim_heads ON ${t.queue} (group_name, priority DESC, visible_at, seq) WHERE NOT blocked`,
    `CREATE INDEX IF NOT EXISTS ${prefix}queue_key ON ${t.queue} (group_name, key, seq) WHERE key IS NOT NULL`,
    // A keyed row takes its key's lock, then its seq, then waits its turn behind any earlier row of its key.
    // Written as a trigger so rows inserted by plain clients are ordered too (a stray `blocked` is put right);
    // the WHEN clause spares unkeyed rows the call.
    blockKeyFunction(prefix, `pg_get_serial_sequence('${t.queue}', 'seq')`, perKeyLockId),
    `DROP TRIGGER IF EXISTS ${prefix}queue_block_key ON ${t.queue}`,
    `CREATE TRIGGER ${prefix}queue_block_key BEFORE INSERT ON ${t.queue} FOR EACH ROW WHEN (NEW.key IS NOT NULL OR NEW.blocked) EXECUTE FUNCTION ${prefix}queue_block_key()`,
    // When a key's head leaves the queue (acked, dead-lettered), the next row of the key becomes the head.
    unblockKeyFunction(prefix, perKeyLockId),
    `DROP TRIGGER IF EXISTS ${prefix}queue_unblock_key ON ${t.queue}`,
    `CREATE TRIGGER ${prefix}queue_unblock_key AFTER DELETE ON ${t.queue} FOR EACH ROW WHEN (OLD.key IS NOT NULL AND NOT OLD.blocked) EXECUTE FUNCTION ${prefix}queue_unblock_key()`,
    `CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
  entry_id BIGSERIAL PRIMARY KEY,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  key TEXT,
  headers TEXT NOT NULL,
  body BYTEA NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_class TEXT,
  dead_lettered_at BIGINT NOT NULL DEFAULT ${NOW_MS}
)`,
    `CREATE INDEX IF NOT EXISTS ${prefix}dead_letters_group ON ${t.deadLetters} (group_name, entry_id)`,
    `CREATE INDEX IF NOT EXISTS ${prefix}dead_letters_topic ON ${t.deadLetters} (topic, entry_id)`,
    `CREATE INDEX IF NOT EXISTS ${prefix}dead_letters_error_code ON ${t.deadLetters} (error_code, entry_id)`,
    // Live subscriptions, for \`missive queues\`: each heartbeats seen_at; a SIGKILLed one just stops.
    `CREATE TABLE IF NOT EXISTS ${t.consumers} (
  consumer_id TEXT PRIMARY KEY,
  group_name TEXT NOT NULL,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL DEFAULT ${NOW_MS},
  seen_at BIGINT NOT NULL DEFAULT ${NOW_MS}
)`,
    // Service reports (src/transport/service-report.ts) for the dashboard, one per bus per interval, kept 10 minutes.
    `CREATE TABLE IF NOT EXISTS ${t.reports} (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  reporter TEXT NOT NULL,
  report TEXT NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS ${t.reports}_at ON ${t.reports} (at)`,
    // The bus's inbox on this database (the PostgreSQL inbox store's table, src/stores/sql/schema.ts).
    ...inboxSchema("postgres", t.inbox),
    `INSERT INTO ${t.meta} (name, value) VALUES ('schema_version', '${SCHEMA_VERSION}') ON CONFLICT (name) DO NOTHING`,
  ];
}

/**
 * 005: the key trigger function without a catalog lookup per row. 004's
 * called pg_get_serial_sequence for every keyed row (a scan of pg_depend);
 * the sequence's name is known here (`<queue>_seq_seq`: a prefix of at
 * most 40 characters keeps it under PostgreSQL's 63, so it is never
 * truncated), and a constant regclass is resolved once per session's plan.
 * About 2 µs less server time per keyed row (20,000 rows in one INSERT:
 * 330 ms → 300 ms here). Lock, then seq, then the lookup, as before.
 */
function pgKeyTrigger005(prefix: string): string[] {
  return [blockKeyFunction(prefix, seqSequence(prefix), perKeyLockId)];
}

/**
 * 006: both key triggers lock the key's bucket (KEY_LOCK_BUCKETS), not the key: a transaction's locks are bounded
 * whatever its batch. Statements that lock many keys first (queue-store.ts) take the same buckets in id order.
 */
function pgKeyLockBuckets006(prefix: string): string[] {
  return [blockKeyFunction(prefix, seqSequence(prefix), keyLockId), unblockKeyFunction(prefix, keyLockId)];
}

const seqSequence = (prefix: string): string => `'${pgTableNames(prefix).queue}_seq_seq'::regclass`;

/** The key trigger's function (004's, 005's and 006's differ in how they name the seq sequence and which lock they take): lock, then seq, then the lookup. */
function blockKeyFunction(prefix: string, sequence: string, lockId: LockId): string {
  const q = pgTableNames(prefix).queue;
  return `CREATE OR REPLACE FUNCTION ${prefix}queue_block_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.key IS NULL THEN
    NEW.blocked := false;
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(${lockId("NEW.group_name", "NEW.key")});
  NEW.seq := nextval(${sequence});
  NEW.blocked := EXISTS (SELECT 1 FROM ${q} WHERE group_name = NEW.group_name AND key = NEW.key);
  RETURN NEW;
END $$`;
}

/** When a key's head leaves the queue (acked, dead-lettered), the next row of the key becomes the head. */
function unblockKeyFunction(prefix: string, lockId: LockId): string {
  const q = pgTableNames(prefix).queue;
  return `CREATE OR REPLACE FUNCTION ${prefix}queue_unblock_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(${lockId("OLD.group_name", "OLD.key")});
  UPDATE ${q} SET blocked = false
   WHERE seq = (SELECT min(seq) FROM ${q} WHERE group_name = OLD.group_name AND key = OLD.key)
     AND blocked;
  RETURN NULL;
END $$`;
}

/** The shipped migration files (sql/postgres/<file> is each with the default prefix; a test keeps them identical). */
export function renderTransportMigrations(prefix: string): { readonly file: string; readonly sql: string }[] {
  return [
    { file: "004_transport.sql", sql: renderSql(prefix, pgTransportSchema004(prefix), "") },
    { file: "005_key_trigger.sql", sql: renderSql(prefix, pgKeyTrigger005(prefix), "-- Run after 004_transport.sql: replaces its key trigger function (no sequence lookup per keyed row).\n") },
    {
      file: "006_key_lock_buckets.sql",
      sql: renderSql(prefix, pgKeyLockBuckets006(prefix), "-- Run after 005_key_trigger.sql: replaces both key trigger functions (a lock per hash bucket of the key, not per key).\n"),
    },
  ];
}

/** Every migration as one SQL script, in order (what `missive migrate --only transport --print` shows). */
export function renderTransportSql(prefix: string): string {
  return renderTransportMigrations(prefix).map((m) => m.sql).join("\n");
}

function renderSql(prefix: string, statements: readonly string[], note: string): string {
  const header =
    `-- missive: generated from src/transports/postgres/schema.ts (the statements \`missive migrate --only transport\` runs,\n` +
    `-- and the PostgreSQL transport runs on connect unless migrate=false).\n` +
    note +
    `-- To choose another table prefix, replace every ${prefix} below (tables, indexes, functions, triggers follow it).\n\n`;
  return header + statements.map((s) => `${s};\n`).join("\n");
}

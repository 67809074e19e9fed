/**
 * The tables (documented for plain SQLite clients in docs/transports/sqlite.md).
 *
 * One queue row per (group, message): publish fans a message out into every
 * bound group's rows, and a group's consumers compete for its rows with leases
 * (`visible_at` + `lease_token`). `blocked` keeps key order for ordered
 * consumers without scanning: triggers keep it 1 exactly while an earlier row
 * of the same (group, key) is still in the queue, so an ordered claim only
 * ever reads key heads (the `blocked = 0` range of the claim index).
 */

export const SCHEMA_VERSION = 2;

/** The `priority` column: added to version-1 tables by upgradeStatements. */
const PRIORITY_COLUMN = "priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9)";

/**
 * DDL that brings an existing queue table up to this version before the
 * schema below runs (which assumes it): version 2 adds `priority`.
 * `columns` are the queue table's columns, empty when it does not exist yet.
 */
export function upgradeStatements(prefix: string, columns: readonly string[]): string {
  if (columns.length === 0 || columns.includes("priority")) return "";
  return `ALTER TABLE ${tableNames(prefix).queue} ADD COLUMN ${PRIORITY_COLUMN};`;
}

/** Table names for one prefix. The prefix is validated as an identifier before it gets here. */
export interface TableNames {
  readonly meta: string;
  readonly groups: string;
  readonly bindings: string;
  readonly queue: string;
  readonly deadLetters: string;
  readonly inbox: string;
  readonly consumers: string;
  readonly processes: string;
  readonly reports: string;
  readonly signatures: string;
  readonly signatureGroups: string;
}

export function tableNames(prefix: string): TableNames {
  return {
    meta: `${prefix}meta`,
    groups: `${prefix}groups`,
    bindings: `${prefix}bindings`,
    queue: `${prefix}queue`,
    deadLetters: `${prefix}dead_letters`,
    inbox: `${prefix}inbox`,
    consumers: `${prefix}consumers`,
    processes: `${prefix}processes`,
    reports: `${prefix}service_reports`,
    signatures: `${prefix}dead_letter_signatures`,
    signatureGroups: `${prefix}dead_letter_groups`,
  };
}

// 1 when the NEW row has an earlier row of its (group, key) in the queue, else 0.
const BEHIND = (queue: string): string =>
  `(NEW.key IS NOT NULL AND EXISTS (SELECT 1 FROM ${queue} WHERE group_name = NEW.group_name AND key = NEW.key AND seq < NEW.seq))`;

// Unix ms, for defaults when a plain client inserts without them.
const NOW_MS = "(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))";

export function transportSchema(prefix: string): string {
  const t = tableNames(prefix);
  return `
CREATE TABLE IF NOT EXISTS ${t.meta} (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ${t.groups} (
  group_name TEXT PRIMARY KEY,
  temporary INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL DEFAULT ${NOW_MS}
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ${t.bindings} (
  topic TEXT NOT NULL,
  group_name TEXT NOT NULL,
  temporary INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL DEFAULT ${NOW_MS},
  PRIMARY KEY (topic, group_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${prefix}bindings_group ON ${t.bindings} (group_name);

CREATE TABLE IF NOT EXISTS ${t.queue} (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  key TEXT,
  headers TEXT NOT NULL DEFAULT '{}',
  body BLOB NOT NULL DEFAULT x'',
  visible_at INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_token TEXT,
  enqueued_at INTEGER NOT NULL DEFAULT ${NOW_MS},
  blocked INTEGER NOT NULL DEFAULT 0,
  ${PRIORITY_COLUMN}
);
-- Claims: highest priority first, then earliest visible, seq breaking ties, reading only the rows they
-- take: one range per (blocked, priority). Ordered claims read the blocked = 0 ranges; unordered ones
-- merge both. One index for both keeps every insert, claim and ack to one index write.
DROP INDEX IF EXISTS ${prefix}queue_claim;
CREATE INDEX IF NOT EXISTS ${prefix}queue_claim_priority ON ${t.queue} (group_name, blocked, priority, visible_at, seq);
-- Finding a key's head, for the triggers below.
CREATE INDEX IF NOT EXISTS ${prefix}queue_key ON ${t.queue} (group_name, key, seq) WHERE key IS NOT NULL;

-- A keyed row arriving behind an earlier row of its key waits its turn.
-- Written as a trigger so rows inserted by plain clients are ordered too
-- (and a stray \`blocked\` value from such a client is put right).
CREATE TRIGGER IF NOT EXISTS ${prefix}queue_block_key AFTER INSERT ON ${t.queue}
WHEN NEW.key IS NOT NULL OR NEW.blocked IS NOT 0
BEGIN
  UPDATE ${t.queue}
     SET blocked = ${BEHIND(t.queue)}
   WHERE seq = NEW.seq
     AND blocked IS NOT ${BEHIND(t.queue)};
END;

-- When a key's head leaves the queue (acked, dead-lettered), the next row of the key becomes the head.
CREATE TRIGGER IF NOT EXISTS ${prefix}queue_unblock_key AFTER DELETE ON ${t.queue}
WHEN OLD.key IS NOT NULL AND OLD.blocked = 0
BEGIN
  UPDATE ${t.queue}
     SET blocked = 0
   WHERE seq = (SELECT MIN(seq) FROM ${t.queue} WHERE group_name = OLD.group_name AND key = OLD.key)
     AND blocked = 1;
END;

CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
  entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  key TEXT,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  dead_lettered_at INTEGER NOT NULL DEFAULT ${NOW_MS}
);
CREATE INDEX IF NOT EXISTS ${prefix}dead_letters_group ON ${t.deadLetters} (group_name, entry_id);
CREATE INDEX IF NOT EXISTS ${prefix}dead_letters_topic ON ${t.deadLetters} (topic, entry_id);

-- The failure-group index (failure-signatures.ts): each dead letter's signature, filled in by readers, and per
-- signature and group the count, first and last, kept by triggers (a plain client's deletes included).
CREATE TABLE IF NOT EXISTS ${t.signatures} (
  entry_id INTEGER PRIMARY KEY,
  signature TEXT NOT NULL,
  group_name TEXT NOT NULL,
  dead_lettered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${prefix}dead_letter_signatures_at ON ${t.signatures} (signature, group_name, dead_lettered_at);
CREATE INDEX IF NOT EXISTS ${prefix}dead_letter_signatures_entries ON ${t.signatures} (signature, entry_id);
CREATE TABLE IF NOT EXISTS ${t.signatureGroups} (
  signature TEXT NOT NULL,
  group_name TEXT NOT NULL,
  n INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  newest_entry INTEGER NOT NULL,
  PRIMARY KEY (signature, group_name)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS ${prefix}dead_letter_signature_gone AFTER DELETE ON ${t.deadLetters}
BEGIN
  DELETE FROM ${t.signatures} WHERE entry_id = OLD.entry_id;
END;
CREATE TRIGGER IF NOT EXISTS ${prefix}dead_letter_signature_added AFTER INSERT ON ${t.signatures}
BEGIN
  INSERT INTO ${t.signatureGroups} (signature, group_name, n, first_at, last_at, newest_entry)
    VALUES (NEW.signature, NEW.group_name, 1, NEW.dead_lettered_at, NEW.dead_lettered_at, NEW.entry_id)
    ON CONFLICT (signature, group_name) DO UPDATE SET n = n + 1, first_at = MIN(first_at, excluded.first_at),
      last_at = MAX(last_at, excluded.last_at), newest_entry = MAX(newest_entry, excluded.newest_entry);
END;
CREATE TRIGGER IF NOT EXISTS ${prefix}dead_letter_signature_removed AFTER DELETE ON ${t.signatures}
BEGIN
  UPDATE ${t.signatureGroups} SET n = n - 1,
      first_at = COALESCE((SELECT MIN(dead_lettered_at) FROM ${t.signatures} WHERE signature = OLD.signature AND group_name = OLD.group_name), first_at),
      last_at = COALESCE((SELECT MAX(dead_lettered_at) FROM ${t.signatures} WHERE signature = OLD.signature AND group_name = OLD.group_name), last_at),
      newest_entry = COALESCE((SELECT entry_id FROM ${t.signatures} WHERE signature = OLD.signature AND group_name = OLD.group_name
                               ORDER BY dead_lettered_at DESC LIMIT 1), newest_entry)
    WHERE signature = OLD.signature AND group_name = OLD.group_name;
  DELETE FROM ${t.signatureGroups} WHERE signature = OLD.signature AND group_name = OLD.group_name AND n <= 0;
END;

-- Live subscriptions, for \`missive queues\`: each heartbeats seen_at; a SIGKILLed one just stops.
CREATE TABLE IF NOT EXISTS ${t.consumers} (
  consumer_id TEXT PRIMARY KEY,
  group_name TEXT NOT NULL,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL DEFAULT ${NOW_MS},
  seen_at INTEGER NOT NULL DEFAULT ${NOW_MS}
) WITHOUT ROWID;

-- Processes that publish or consume, with their connection settings (synchronous is per connection), for
-- \`missive doctor\`: each heartbeats seen_at and removes its row on a clean close (process-registry.ts).
CREATE TABLE IF NOT EXISTS ${t.processes} (
  process_id TEXT PRIMARY KEY,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  missive_version TEXT NOT NULL DEFAULT '',
  synchronous TEXT NOT NULL,
  journal_mode TEXT NOT NULL,
  busy_timeout_ms INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL DEFAULT ${NOW_MS},
  seen_at INTEGER NOT NULL DEFAULT ${NOW_MS}
) WITHOUT ROWID;

-- Service reports (src/transport/service-report.ts), one JSON document per service per interval, for the
-- dashboard; kept about 10 minutes (service-reports.ts).
CREATE TABLE IF NOT EXISTS ${t.reports} (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  reporter TEXT NOT NULL,
  report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ${prefix}service_reports_at ON ${t.reports} (at);

INSERT INTO ${t.meta} (name, value) VALUES ('schema_version', '${SCHEMA_VERSION}')
  ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < ${SCHEMA_VERSION};
`;
}

export function inboxSchema(prefix: string): string {
  const t = tableNames(prefix);
  return `
CREATE TABLE IF NOT EXISTS ${t.inbox} (
  group_name TEXT NOT NULL,
  message_id TEXT NOT NULL,
  handled_at INTEGER NOT NULL DEFAULT ${NOW_MS},
  PRIMARY KEY (group_name, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${prefix}inbox_handled_at ON ${t.inbox} (handled_at);
`;
}

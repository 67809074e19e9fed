/**
 * The spool file's tables. `missive_spool` holds the messages in flush order
 * (`seq`); parked rows stay in it, out of the flush. The counters row is kept
 * in step with the rows by every write, so bounds are checked in O(1).
 */
export const SPOOL_SCHEMA = `
CREATE TABLE IF NOT EXISTS missive_spool (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  topic TEXT NOT NULL,
  key TEXT,
  grp TEXT,
  due_at INTEGER,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  bytes INTEGER NOT NULL,
  spooled_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  parked_at INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS missive_spool_key ON missive_spool (key) WHERE key IS NOT NULL AND parked_at IS NULL;
CREATE TABLE IF NOT EXISTS missive_spool_counters (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  messages INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  parked INTEGER NOT NULL
);
INSERT OR IGNORE INTO missive_spool_counters (one, messages, bytes, parked) VALUES (1, 0, 0, 0);
CREATE TABLE IF NOT EXISTS missive_spool_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/** The counters row recounted from the rows (at every writable open). */
export const RECOUNT = `
UPDATE missive_spool_counters SET
  messages = (SELECT count(*) FROM missive_spool WHERE parked_at IS NULL),
  bytes = (SELECT coalesce(sum(bytes), 0) FROM missive_spool),
  parked = (SELECT count(*) FROM missive_spool WHERE parked_at IS NOT NULL)
WHERE one = 1;
`;

-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_outbox below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS "missive_outbox" (
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  msg_key TEXT,
  lane TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);

CREATE INDEX IF NOT EXISTS "missive_outbox_unsent" ON "missive_outbox" (seq) WHERE sent_at IS NULL;

CREATE INDEX IF NOT EXISTS "missive_outbox_sent" ON "missive_outbox" (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS "missive_outbox_relay" (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

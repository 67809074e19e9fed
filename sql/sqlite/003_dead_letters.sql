-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_dlq below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS "missive_dlq" (
  entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  message_key TEXT NOT NULL,
  msg_key TEXT,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  error_code TEXT,
  error_class TEXT,
  dead_lettered_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS "missive_dlq_message" ON "missive_dlq" (group_name, message_key);

CREATE INDEX IF NOT EXISTS "missive_dlq_group" ON "missive_dlq" (group_name, entry_id);

CREATE INDEX IF NOT EXISTS "missive_dlq_topic" ON "missive_dlq" (topic, entry_id);

CREATE INDEX IF NOT EXISTS "missive_dlq_error_code" ON "missive_dlq" (error_code, entry_id);

CREATE INDEX IF NOT EXISTS "missive_dlq_error_class" ON "missive_dlq" (error_class, entry_id);

CREATE INDEX IF NOT EXISTS "missive_dlq_message_key" ON "missive_dlq" (message_key);

CREATE INDEX IF NOT EXISTS "missive_dlq_at" ON "missive_dlq" (dead_lettered_at);

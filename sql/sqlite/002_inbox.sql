-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_inbox below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS "missive_inbox" (
  group_name TEXT NOT NULL,
  message_id TEXT NOT NULL,
  handled_at INTEGER NOT NULL,
  PRIMARY KEY (group_name, message_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS "missive_inbox_handled_at" ON "missive_inbox" (handled_at);

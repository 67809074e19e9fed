-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_outbox below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS "missive_outbox" (
  seq BIGSERIAL PRIMARY KEY,
  message_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  msg_key TEXT,
  lane TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS "missive_outbox_message_id" ON "missive_outbox" (message_id);

CREATE INDEX IF NOT EXISTS "missive_outbox_unsent" ON "missive_outbox" (seq) WHERE sent_at IS NULL;

CREATE INDEX IF NOT EXISTS "missive_outbox_lane" ON "missive_outbox" (lane, seq) WHERE sent_at IS NULL;

CREATE INDEX IF NOT EXISTS "missive_outbox_sent" ON "missive_outbox" (sent_at) WHERE sent_at IS NOT NULL;

CREATE OR REPLACE FUNCTION "missive_outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('missive_outbox', '');
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER "missive_outbox_notify" AFTER INSERT ON "missive_outbox" FOR EACH STATEMENT EXECUTE FUNCTION "missive_outbox_notify"();

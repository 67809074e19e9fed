-- missive: generated from src/transports/postgres/schema.ts (the statements `missive migrate --only transport` runs,
-- and the PostgreSQL transport runs on connect unless migrate=false).
-- To choose another table prefix, replace every missive_ below (tables, indexes, functions, triggers follow it).

CREATE TABLE IF NOT EXISTS missive_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS missive_groups (
  group_name TEXT PRIMARY KEY,
  temporary BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);

CREATE TABLE IF NOT EXISTS missive_bindings (
  topic TEXT NOT NULL,
  group_name TEXT NOT NULL,
  temporary BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint,
  PRIMARY KEY (topic, group_name)
);

CREATE INDEX IF NOT EXISTS missive_bindings_group ON missive_bindings (group_name);

CREATE TABLE IF NOT EXISTS missive_queue (
  seq BIGSERIAL PRIMARY KEY,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  key TEXT,
  headers TEXT NOT NULL DEFAULT '{}',
  body BYTEA NOT NULL DEFAULT '\x',
  visible_at BIGINT NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_token TEXT,
  enqueued_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint,
  blocked BOOLEAN NOT NULL DEFAULT false,
  priority SMALLINT NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9)
) WITH (fillfactor = 70);

ALTER TABLE missive_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);

CREATE INDEX IF NOT EXISTS missive_queue_claim ON missive_queue (group_name, priority DESC, visible_at, seq);

CREATE INDEX IF NOT EXISTS missive_queue_claim_heads ON missive_queue (group_name, priority DESC, visible_at, seq) WHERE NOT blocked;

CREATE INDEX IF NOT EXISTS missive_queue_key ON missive_queue (group_name, key, seq) WHERE key IS NOT NULL;

CREATE OR REPLACE FUNCTION missive_queue_block_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.key IS NULL THEN
    NEW.blocked := false;
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(NEW.group_name || chr(1) || NEW.key, 7340146215));
  NEW.seq := nextval(pg_get_serial_sequence('missive_queue', 'seq'));
  NEW.blocked := EXISTS (SELECT 1 FROM missive_queue WHERE group_name = NEW.group_name AND key = NEW.key);
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS missive_queue_block_key ON missive_queue;

CREATE TRIGGER missive_queue_block_key BEFORE INSERT ON missive_queue FOR EACH ROW WHEN (NEW.key IS NOT NULL OR NEW.blocked) EXECUTE FUNCTION missive_queue_block_key();

CREATE OR REPLACE FUNCTION missive_queue_unblock_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(OLD.group_name || chr(1) || OLD.key, 7340146215));
  UPDATE missive_queue SET blocked = false
   WHERE seq = (SELECT min(seq) FROM missive_queue WHERE group_name = OLD.group_name AND key = OLD.key)
     AND blocked;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS missive_queue_unblock_key ON missive_queue;

CREATE TRIGGER missive_queue_unblock_key AFTER DELETE ON missive_queue FOR EACH ROW WHEN (OLD.key IS NOT NULL AND NOT OLD.blocked) EXECUTE FUNCTION missive_queue_unblock_key();

CREATE TABLE IF NOT EXISTS missive_dead_letters (
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
  dead_lettered_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);

CREATE INDEX IF NOT EXISTS missive_dead_letters_group ON missive_dead_letters (group_name, entry_id);

CREATE INDEX IF NOT EXISTS missive_dead_letters_topic ON missive_dead_letters (topic, entry_id);

CREATE INDEX IF NOT EXISTS missive_dead_letters_error_code ON missive_dead_letters (error_code, entry_id);

CREATE TABLE IF NOT EXISTS missive_consumers (
  consumer_id TEXT PRIMARY KEY,
  group_name TEXT NOT NULL,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint,
  seen_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);

CREATE TABLE IF NOT EXISTS missive_service_reports (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  reporter TEXT NOT NULL,
  report TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS missive_service_reports_at ON missive_service_reports (at);

CREATE TABLE IF NOT EXISTS "missive_inbox" (
  group_name TEXT NOT NULL,
  message_id TEXT NOT NULL,
  handled_at BIGINT NOT NULL,
  PRIMARY KEY (group_name, message_id)
);

CREATE INDEX IF NOT EXISTS "missive_inbox_handled_at" ON "missive_inbox" (handled_at);

INSERT INTO missive_meta (name, value) VALUES ('schema_version', '1') ON CONFLICT (name) DO NOTHING;

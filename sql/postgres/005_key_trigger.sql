-- missive: generated from src/transports/postgres/schema.ts (the statements `missive migrate --only transport` runs,
-- and the PostgreSQL transport runs on connect unless migrate=false).
-- Run after 004_transport.sql: replaces its key trigger function (no sequence lookup per keyed row).
-- To choose another table prefix, replace every missive_ below (tables, indexes, functions, triggers follow it).

CREATE OR REPLACE FUNCTION missive_queue_block_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.key IS NULL THEN
    NEW.blocked := false;
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(NEW.group_name || chr(1) || NEW.key, 7340146215));
  NEW.seq := nextval('missive_queue_seq_seq'::regclass);
  NEW.blocked := EXISTS (SELECT 1 FROM missive_queue WHERE group_name = NEW.group_name AND key = NEW.key);
  RETURN NEW;
END $$;

-- missive: generated from src/transports/postgres/schema.ts (the statements `missive migrate --only transport` runs,
-- and the PostgreSQL transport runs on connect unless migrate=false).
-- Run after 005_key_trigger.sql: replaces both key trigger functions (a lock per hash bucket of the key, not per key).
-- To choose another table prefix, replace every missive_ below (tables, indexes, functions, triggers follow it).

CREATE OR REPLACE FUNCTION missive_queue_block_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.key IS NULL THEN
    NEW.blocked := false;
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock((7883959562216538112 + (hashtextextended(NEW.group_name || chr(1) || NEW.key, 7340146215) & 1023)));
  NEW.seq := nextval('missive_queue_seq_seq'::regclass);
  NEW.blocked := EXISTS (SELECT 1 FROM missive_queue WHERE group_name = NEW.group_name AND key = NEW.key);
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION missive_queue_unblock_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock((7883959562216538112 + (hashtextextended(OLD.group_name || chr(1) || OLD.key, 7340146215) & 1023)));
  UPDATE missive_queue SET blocked = false
   WHERE seq = (SELECT min(seq) FROM missive_queue WHERE group_name = OLD.group_name AND key = OLD.key)
     AND blocked;
  RETURN NULL;
END $$;

/**
 * The dead-letter table of every dialect (src/stores/dead-letters.ts), as
 * statements; sql/<dialect>/003_dead_letters.sql is `renderSql` of these
 * with the default name (a test keeps them identical).
 *
 * `message_key` is the message id, or its sha256 when longer than 200
 * characters (sql/ids.ts), so the unique (group, message) key fits every
 * database's index limits while `message_id` keeps the id exactly.
 * `error_code` and `error_class` are copies of the diagnostics headers (hashed
 * the same way when absurdly long), so filters and the summary use indexes
 * instead of parsing JSON. `entry_id` only grows (AUTOINCREMENT on SQLite),
 * so an id never names two entries over time.
 */
import type { Dialect } from "./schema.js";

export function deadLetterSchema(dialect: Dialect, t: string): string[] {
  switch (dialect) {
    case "postgres":
      return [
        `CREATE TABLE IF NOT EXISTS "${t}" (
  entry_id BIGSERIAL PRIMARY KEY,
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  message_key TEXT NOT NULL,
  msg_key TEXT,
  headers TEXT NOT NULL,
  body BYTEA NOT NULL,
  error_code TEXT,
  error_class TEXT,
  dead_lettered_at BIGINT NOT NULL
)`,
        `CREATE UNIQUE INDEX IF NOT EXISTS "${t}_message" ON "${t}" (group_name, message_key)`,
        `CREATE INDEX IF NOT EXISTS "${t}_group" ON "${t}" (group_name, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_topic" ON "${t}" (topic, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_error_code" ON "${t}" (error_code, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_error_class" ON "${t}" (error_class, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_message_key" ON "${t}" (message_key)`,
        `CREATE INDEX IF NOT EXISTS "${t}_at" ON "${t}" (dead_lettered_at)`,
      ];
    case "mysql":
      return [
        `CREATE TABLE IF NOT EXISTS \`${t}\` (
  entry_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  group_name VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  message_id MEDIUMTEXT NOT NULL,
  message_key VARCHAR(255) NOT NULL,
  msg_key MEDIUMTEXT NULL,
  headers MEDIUMTEXT NOT NULL,
  body LONGBLOB NOT NULL,
  error_code VARCHAR(255) NULL,
  error_class VARCHAR(255) NULL,
  dead_lettered_at BIGINT NOT NULL,
  UNIQUE KEY \`${t}_message\` (group_name, message_key),
  KEY \`${t}_group\` (group_name, entry_id),
  KEY \`${t}_topic\` (topic, entry_id),
  KEY \`${t}_error_code\` (error_code, entry_id),
  KEY \`${t}_error_class\` (error_class, entry_id),
  KEY \`${t}_message_key\` (message_key),
  KEY \`${t}_at\` (dead_lettered_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ];
    case "sqlite":
      return [
        `CREATE TABLE IF NOT EXISTS "${t}" (
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
)`,
        `CREATE UNIQUE INDEX IF NOT EXISTS "${t}_message" ON "${t}" (group_name, message_key)`,
        `CREATE INDEX IF NOT EXISTS "${t}_group" ON "${t}" (group_name, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_topic" ON "${t}" (topic, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_error_code" ON "${t}" (error_code, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_error_class" ON "${t}" (error_class, entry_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_message_key" ON "${t}" (message_key)`,
        `CREATE INDEX IF NOT EXISTS "${t}_at" ON "${t}" (dead_lettered_at)`,
      ];
  }
}

/** What `deadLetterSchema` created (tests). */
export function dropDeadLetterSchema(dialect: Dialect, t: string): string[] {
  return [dialect === "mysql" ? `DROP TABLE IF EXISTS \`${t}\`` : `DROP TABLE IF EXISTS "${t}"`];
}

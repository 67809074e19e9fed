/**
 * The outbox and inbox tables of every dialect, as statements. The SQL files
 * shipped under `sql/<dialect>/` are `renderSql` of these with the default
 * table names (a test keeps them identical), for users who run their own
 * migration tool: replace the table name everywhere it appears.
 *
 * Times are unix milliseconds (BIGINT) written by missive, so lag and
 * retention read the same on every database.
 */
export type Dialect = "postgres" | "mysql" | "sqlite";

export const DIALECTS: readonly Dialect[] = ["postgres", "mysql", "sqlite"];

/** Outbox rows: the encoded wire message (headers JSON + body), topic, key, id; `lane` orders rows of one key. */
export function outboxSchema(dialect: Dialect, t: string): string[] {
  switch (dialect) {
    case "postgres":
      return [
        `CREATE TABLE IF NOT EXISTS "${t}" (
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
)`,
        `CREATE UNIQUE INDEX IF NOT EXISTS "${t}_message_id" ON "${t}" (message_id)`,
        `CREATE INDEX IF NOT EXISTS "${t}_unsent" ON "${t}" (seq) WHERE sent_at IS NULL`,
        `CREATE INDEX IF NOT EXISTS "${t}_lane" ON "${t}" (lane, seq) WHERE sent_at IS NULL`,
        `CREATE INDEX IF NOT EXISTS "${t}_sent" ON "${t}" (sent_at) WHERE sent_at IS NOT NULL`,
        // Wakes relays right after a commit that added rows: NOTIFY is delivered at commit, once per transaction.
        `CREATE OR REPLACE FUNCTION "${t}_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${t}', '');
  RETURN NULL;
END
$$`,
        `CREATE OR REPLACE TRIGGER "${t}_notify" AFTER INSERT ON "${t}" FOR EACH STATEMENT EXECUTE FUNCTION "${t}_notify"()`,
      ];
    case "mysql":
      return [
        `CREATE TABLE IF NOT EXISTS \`${t}\` (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message_id VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  msg_key TEXT NULL,
  lane VARCHAR(128) NOT NULL,
  headers MEDIUMTEXT NOT NULL,
  body LONGBLOB NOT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  UNIQUE KEY \`${t}_message_id\` (message_id),
  KEY \`${t}_lane\` (lane, sent_at, seq),
  KEY \`${t}_unsent\` (sent_at, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ];
    case "sqlite":
      return [
        `CREATE TABLE IF NOT EXISTS "${t}" (
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
)`,
        `CREATE INDEX IF NOT EXISTS "${t}_unsent" ON "${t}" (seq) WHERE sent_at IS NULL`,
        `CREATE INDEX IF NOT EXISTS "${t}_sent" ON "${t}" (sent_at) WHERE sent_at IS NOT NULL`,
        // SQLite has one writer: one relay at a time holds this lease; the others stand by.
        `CREATE TABLE IF NOT EXISTS "${t}_relay" (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
)`,
      ];
  }
}

/** Inbox rows: (consumer group, message id) handled, and when. */
export function inboxSchema(dialect: Dialect, t: string): string[] {
  switch (dialect) {
    case "postgres":
      return [
        `CREATE TABLE IF NOT EXISTS "${t}" (
  group_name TEXT NOT NULL,
  message_id TEXT NOT NULL,
  handled_at BIGINT NOT NULL,
  PRIMARY KEY (group_name, message_id)
)`,
        `CREATE INDEX IF NOT EXISTS "${t}_handled_at" ON "${t}" (handled_at)`,
      ];
    case "mysql":
      return [
        `CREATE TABLE IF NOT EXISTS \`${t}\` (
  group_name VARCHAR(255) NOT NULL,
  message_id VARCHAR(255) NOT NULL,
  handled_at BIGINT NOT NULL,
  PRIMARY KEY (group_name, message_id),
  KEY \`${t}_handled_at\` (handled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ];
    case "sqlite":
      return [
        `CREATE TABLE IF NOT EXISTS "${t}" (
  group_name TEXT NOT NULL,
  message_id TEXT NOT NULL,
  handled_at INTEGER NOT NULL,
  PRIMARY KEY (group_name, message_id)
) WITHOUT ROWID`,
        `CREATE INDEX IF NOT EXISTS "${t}_handled_at" ON "${t}" (handled_at)`,
      ];
  }
}

/** Statements as one SQL file, under a comment saying where they come from and how to rename the table. */
export function renderSql(statements: readonly string[], table: string): string {
  const header =
    `-- missive: generated from src/stores/sql/schema.ts (the statements \`missive migrate\` runs).\n` +
    `-- To choose another table name, replace every ${table} below (index, trigger and channel names follow it).\n\n`;
  return header + statements.map((s) => `${s};\n`).join("\n");
}

/** Statements that drop what `outboxSchema`/`inboxSchema` created (tests, and `missive migrate --down` is deliberately absent). */
export function dropSchema(dialect: Dialect, outbox: string | undefined, inbox: string | undefined): string[] {
  const q = dialect === "mysql" ? "`" : '"';
  const out: string[] = [];
  if (outbox) {
    out.push(`DROP TABLE IF EXISTS ${q}${outbox}${q}`);
    if (dialect === "postgres") out.push(`DROP FUNCTION IF EXISTS "${outbox}_notify"()`);
    if (dialect === "sqlite") out.push(`DROP TABLE IF EXISTS "${outbox}_relay"`);
  }
  if (inbox) out.push(`DROP TABLE IF EXISTS ${q}${inbox}${q}`);
  return out;
}

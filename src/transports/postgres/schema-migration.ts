/**
 * The transport's schema on connect, run only when the database does not
 * hold this exact schema yet. The statements are idempotent, but DROP and
 * CREATE TRIGGER take an ACCESS EXCLUSIVE lock on the queue table: run by
 * every process that connects while consumers claim rows, they deadlocked
 * (40P01) with those consumers' transactions, and the connecting bus failed
 * (the key-order fault test, whose producer connects while two consumers
 * run). After a run, the schema's fingerprint is kept in the meta table.
 */
import { createHash } from "node:crypto";
import type { Pool } from "pg";
import { runPostgresStatements } from "../../stores/postgres/migrate.js";
import { toPgTransportError } from "./errors.js";

const FINGERPRINT = "schema_fingerprint";
const UNDEFINED_TABLE = "42P01";

export async function migrateTransportSchema(pool: Pool, metaTable: string, statements: readonly string[]): Promise<void> {
  const fingerprint = createHash("sha256").update(statements.join("\n;\n")).digest("hex");
  if ((await storedFingerprint(pool, metaTable)) === fingerprint) return;
  await runPostgresStatements(pool, [
    ...statements,
    `INSERT INTO ${metaTable} (name, value) VALUES ('${FINGERPRINT}', '${fingerprint}') ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
  ]);
}

async function storedFingerprint(pool: Pool, metaTable: string): Promise<string | undefined> {
  try {
    const r = await pool.query<{ value: string }>(`SELECT value FROM ${metaTable} WHERE name = $1`, [FINGERPRINT]);
    return r.rows[0]?.value;
  } catch (err) {
    // No meta table: the transport never ran on this database (or prefix), so the schema runs.
    if ((err as { code?: unknown }).code === UNDEFINED_TABLE) return undefined;
    throw toPgTransportError(err, "reading the schema's fingerprint");
  }
}

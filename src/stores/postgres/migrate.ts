/** Creating the outbox and inbox tables on PostgreSQL: one transaction, serialised by an advisory lock so concurrent starts never race. */
import type { Pool, PoolClient } from "pg";
import { toStoreError } from "../sql/errors.js";
import { inboxSchema, outboxSchema } from "../sql/schema.js";

/** Arbitrary, fixed: the advisory lock key every missive migration takes. */
const MIGRATION_LOCK = 7_340_146_215;

export async function runPostgresStatements(pool: Pool, statements: readonly string[]): Promise<void> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toStoreError(err, "postgres", "connecting failed");
  }
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    for (const sql of statements) await client.query(sql);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch((e: Error) => (broken = e));
    throw toStoreError(err, "postgres", "migration failed");
  } finally {
    client.release(broken);
  }
}

/** Create the outbox and/or inbox tables (idempotent). */
export function migratePostgres(pool: Pool, tables: { readonly outbox?: string; readonly inbox?: string }): Promise<void> {
  const statements = [...(tables.outbox ? outboxSchema("postgres", tables.outbox) : []), ...(tables.inbox ? inboxSchema("postgres", tables.inbox) : [])];
  return runPostgresStatements(pool, statements);
}

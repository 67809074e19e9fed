/** Checks a mysql2 promise pool, and runs statements on one of its connections. */
import type { Pool, PoolConnection } from "mysql2/promise";
import { ConfigurationError } from "../../errors.js";
import { toStoreError } from "../sql/errors.js";

export function checkPool(value: unknown, what: string): Pool {
  const p = value as Partial<Pool> | null | undefined;
  if (!p || typeof p !== "object" || typeof p.getConnection !== "function" || typeof p.query !== "function") {
    throw new ConfigurationError(`${what}: \`pool\` must be a mysql2 promise Pool (mysql.createPool(...) from "mysql2/promise")`);
  }
  return p as Pool;
}

export async function connectionOf(pool: Pool, what: string): Promise<PoolConnection> {
  try {
    return await pool.getConnection();
  } catch (err) {
    throw toStoreError(err, what, "connecting failed");
  }
}

/** A connection that failed mid-transaction is destroyed, never returned to the pool. */
export function dispose(conn: PoolConnection, broken: boolean): void {
  if (broken) conn.destroy();
  else conn.release();
}

/** Create tables (idempotent), serialised across processes by a named lock. */
export async function runMysqlStatements(pool: Pool, statements: readonly string[]): Promise<void> {
  const conn = await connectionOf(pool, "mysql");
  let broken = false;
  try {
    await conn.query("SELECT GET_LOCK('missive_migrate', 30)");
    try {
      for (const sql of statements) await conn.query(sql);
    } finally {
      await conn.query("SELECT RELEASE_LOCK('missive_migrate')");
    }
  } catch (err) {
    broken = true;
    throw toStoreError(err, "mysql", "migration failed");
  } finally {
    dispose(conn, broken);
  }
}

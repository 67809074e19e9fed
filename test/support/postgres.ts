/** The shared PostgreSQL server for tests: a table prefix per test, dropped after (never the server itself). */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const PG_URL = process.env["MISSIVE_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh table prefix, unique to one test (the helper's name in it, so leftovers say whose they are). */
export function pgPrefix(): string {
  return `t_pgt_${randomBytes(5).toString("hex")}_`;
}

/** Drop every table and function the transport made under `prefix`. */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const tables = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1`, [`${prefix.replace(/_/g, "\\_")}%`]);
    for (const r of tables.rows) await client.query(`DROP TABLE IF EXISTS "${r.tablename}" CASCADE`);
    const fns = await client.query<{ proname: string }>(`SELECT proname FROM pg_proc WHERE proname LIKE $1`, [`${prefix.replace(/_/g, "\\_")}%`]);
    for (const r of fns.rows) await client.query(`DROP FUNCTION IF EXISTS "${r.proname}"() CASCADE`);
  } finally {
    await client.end();
  }
}

/** Run one statement on a client of its own (a plain client of the database, not the transport's pool). */
export async function pgQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

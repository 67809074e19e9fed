/**
 * A PostgreSQL schema of the bench's own on the shared server: every table a
 * case makes (missive's, the raw client's, pg-boss's schemas named after it)
 * lives under it, and dropping it (`CASCADE`) takes all of them.
 */
import pg from "pg";

export const PG_BENCH_URL = process.env["MISSIVE_BENCH_PG_URL"] ?? process.env["MISSIVE_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** `url` with `search_path` set to `schema` on every connection (node-postgres sends `options` at startup). */
export function urlInSchema(url: string, schema: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function onClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export function createSchema(url: string, schema: string): Promise<void> {
  return onClient(url, async (c) => void (await c.query(`CREATE SCHEMA ${schema}`)));
}

/** Drop `schema` and every schema whose name starts with it and `_` (pg-boss's), with all they hold. */
export function dropSchemas(url: string, schema: string): Promise<void> {
  return onClient(url, async (c) => {
    const { rows } = await c.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname = $1 OR starts_with(nspname, $1 || '_')", [schema]);
    for (const r of rows) await c.query(`DROP SCHEMA IF EXISTS "${r.nspname}" CASCADE`);
  });
}

/** Why the server cannot be used, or undefined when it answers. */
export async function postgresMissing(url: string): Promise<string | undefined> {
  try {
    await onClient(url, (c) => c.query("SELECT 1"));
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${url.replace(/\/\/[^@/]*@/, "//")} is unreachable (${err instanceof Error ? err.message : String(err)})`;
  }
}

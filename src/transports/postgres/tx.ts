/** Running statements on the pool: one at a time, or as one transaction, with a lost deadlock run again. */
import type { Pool, PoolClient, QueryResultRow } from "pg";
import { holdClient } from "../../stores/postgres/checked-out.js";
import { isTransient, toPgTransportError } from "./errors.js";

const TRIES = 5;

/** `fn` inside BEGIN … COMMIT on one pooled connection; a deadlock or serialization failure runs it again (nothing of it was committed). */
export async function inTransaction<T>(pool: Pool, what: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw toPgTransportError(err, `${what}: connecting failed`);
    }
    let broken: Error | undefined;
    // The server dying while we hold the client between queries must fail the next query, not crash the process.
    const unhold = holdClient(client);
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      // A connection that cannot even roll back is broken: the pool must not hand it out again.
      await client.query("ROLLBACK").catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
      if (attempt < TRIES && isTransient(err)) continue;
      throw toPgTransportError(err, what);
    } finally {
      unhold();
      client.release(broken);
    }
  }
}

/**
 * One statement on the pool (its own implicit transaction); a deadlock runs it again. With `name`, a prepared
 * statement: each connection parses and plans it once, not on every call (the publish statement's CTEs).
 */
export async function query<R extends QueryResultRow>(pool: Pool, what: string, sql: string, params: readonly unknown[] = [], name?: string): Promise<{ rows: R[]; rowCount: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await pool.query<R>({ text: sql, values: params as unknown[], ...(name === undefined ? {} : { name }) });
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    } catch (err) {
      if (attempt < TRIES && isTransient(err)) continue;
      throw toPgTransportError(err, what);
    }
  }
}

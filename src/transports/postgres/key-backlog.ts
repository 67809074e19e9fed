/**
 * The keys with the most messages waiting in the PostgreSQL queue table
 * (KeyBacklogInspection): its keyed rows grouped by group and key, at most
 * KEY_BACKLOG_SCAN of them (the partial `(group_name, key, seq)` index the
 * ordering trigger keeps serves the `key IS NOT NULL` scan), so a huge
 * backlog costs a bounded read; the counts are then of those rows.
 */
import type { Pool } from "pg";
import { KEY_BACKLOG_SCAN, type KeyBacklog } from "../../transport/abilities.js";
import type { PgTableNames } from "./schema.js";
import { query } from "./tx.js";

interface Row { readonly g: string; readonly k: string; readonly n: string; readonly oldest: string | null }

export async function readKeyBacklog(pool: Pool, t: PgTableNames, limit: number): Promise<KeyBacklog[]> {
  const { rows } = await query<Row>(pool, "reading the backlog per key",
    `SELECT g, k, count(*) AS n, min(at) AS oldest
       FROM (SELECT group_name AS g, key AS k, enqueued_at AS at FROM ${t.queue} WHERE key IS NOT NULL LIMIT ${KEY_BACKLOG_SCAN}) AS keyed
      GROUP BY g, k ORDER BY n DESC, oldest LIMIT $1`,
    [limit]);
  return rows.map((r) => ({ group: r.g, key: r.k, waiting: Number(r.n), oldestAt: r.oldest === null ? null : Number(r.oldest) }));
}

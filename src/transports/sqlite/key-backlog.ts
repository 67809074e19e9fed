/**
 * The keys with the most messages waiting in a SQLite queue table
 * (KeyBacklogInspection): its keyed rows grouped by group and key. The rows
 * are read through the `(group_name, key, seq)` index the claim triggers
 * already keep, at most KEY_BACKLOG_SCAN of them, so a huge backlog costs a
 * bounded read; the counts are then of those rows.
 */
import type Database from "better-sqlite3";
import { KEY_BACKLOG_SCAN, type KeyBacklog } from "../../transport/abilities.js";
import { tableNames } from "./schema.js";
import { toTransportError } from "./sqlite-errors.js";

interface Row { readonly g: string; readonly k: string; readonly n: number; readonly oldest: number | null }

export function createKeyBacklogReader(db: Database.Database, prefix: string): (limit: number) => KeyBacklog[] {
  const t = tableNames(prefix);
  const read = db.prepare(
    `SELECT g, k, COUNT(*) AS n, MIN(at) AS oldest
       FROM (SELECT group_name AS g, key AS k, enqueued_at AS at FROM ${t.queue} INDEXED BY ${prefix}queue_key WHERE key IS NOT NULL LIMIT ${KEY_BACKLOG_SCAN})
      GROUP BY g, k ORDER BY n DESC, oldest LIMIT ?`,
  );
  return (limit) => {
    try {
      return (read.all(limit) as Row[]).map((r) => ({ group: r.g, key: r.k, waiting: r.n, oldestAt: r.oldest }));
    } catch (err) {
      throw toTransportError(err, "reading the backlog per key failed");
    }
  };
}

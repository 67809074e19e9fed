/**
 * On SQLite, a group's consumers as `missive queues` shows them: the fresh
 * consumer rows (stats.ts counts those), minus the ones whose process is
 * known to be gone (on this host, its pid is not running). Without this, a
 * consumer SIGKILLed a moment ago still counts as running for up to LIVE_MS.
 * Rows from another host cannot be checked and stay counted.
 */
import type Database from "better-sqlite3";
import type { QueueStats, Transport } from "../../transport/transport.js";
import { recorderLiveness } from "./spool-liveness.js";

/** A group's stats with the pids of its consumers whose process is gone (counted out of `consumers`). */
export interface GroupView extends QueueStats {
  readonly goneConsumers: readonly number[];
}

interface SqliteLike extends Transport {
  readonly database: Database.Database;
  readonly tablePrefix: string;
}

const isSqlite = (t: Transport): t is SqliteLike => t.name === "sqlite" && "database" in t && "tablePrefix" in t;

export async function withGoneConsumers(transport: Transport, stats: readonly QueueStats[]): Promise<GroupView[]> {
  if (!isSqlite(transport)) return stats.map((s) => ({ ...s, goneConsumers: [] }));
  const [{ readConsumerRows }, { LIVE_MS }] = await Promise.all([import("../../transports/sqlite/consumer-rows.js"), import("../../transports/sqlite/consumer-registry.js")]);
  const gone = new Map<string, number[]>();
  const live = new Map<string, number>();
  for (const row of readConsumerRows(transport.database, transport.tablePrefix, Date.now() - LIVE_MS)) {
    if (recorderLiveness(row) === "gone") gone.set(row.group, [...(gone.get(row.group) ?? []), row.pid]);
    else live.set(row.group, (live.get(row.group) ?? 0) + 1);
  }
  return stats.map((s) => ({ ...s, consumers: s.consumers === undefined ? undefined : live.get(s.group) ?? 0, goneConsumers: gone.get(s.group) ?? [] }));
}

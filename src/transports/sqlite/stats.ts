/**
 * Queue statistics for `missive queues`, read in one snapshot (a read
 * transaction, so the numbers agree with each other): per group its topics,
 * depth split into ready / in flight / delayed, the oldest message's age,
 * dead letters and live consumers.
 */
import type Database from "better-sqlite3";
import type { QueueStats } from "../../transport/transport.js";
import { LIVE_MS } from "./consumer-registry.js";
import { tableNames } from "./schema.js";
import { toTransportError } from "./sqlite-errors.js";

interface QueueRow { readonly g: string; readonly depth: number; readonly in_flight: number; readonly delayed: number; readonly oldest: number | null }
interface CountRow { readonly g: string; readonly n: number }
interface GroupRow { readonly g: string; readonly temporary: number }
interface BindingRow { readonly g: string; readonly topic: string }

export function createStatsReader(db: Database.Database, prefix: string): () => QueueStats[] {
  const t = tableNames(prefix);
  const groups = db.prepare(`SELECT group_name AS g, temporary FROM ${t.groups}`);
  const bindings = db.prepare(`SELECT group_name AS g, topic FROM ${t.bindings} ORDER BY topic`);
  // A row whose lease ran out is deliverable again, so it counts as ready.
  const queue = db.prepare(
    `SELECT group_name AS g, COUNT(*) AS depth,
            SUM(lease_token IS NOT NULL AND visible_at > @now) AS in_flight,
            SUM(lease_token IS NULL AND visible_at > @now) AS delayed,
            MIN(enqueued_at) AS oldest
       FROM ${t.queue} GROUP BY group_name`,
  );
  const deadLetters = db.prepare(`SELECT group_name AS g, COUNT(*) AS n FROM ${t.deadLetters} GROUP BY group_name`);
  const consumers = db.prepare(`SELECT group_name AS g, COUNT(*) AS n FROM ${t.consumers} WHERE seen_at >= ? GROUP BY group_name`);
  const snapshot = db.transaction((now: number) => ({
    groups: groups.all() as GroupRow[],
    bindings: bindings.all() as BindingRow[],
    queue: queue.all({ now }) as QueueRow[],
    deadLetters: deadLetters.all() as CountRow[],
    consumers: consumers.all(now - LIVE_MS) as CountRow[],
  }));

  return () => {
    const now = Date.now();
    let s: ReturnType<typeof snapshot>;
    try {
      s = snapshot.deferred(now);
    } catch (err) {
      throw toTransportError(err, "reading queue statistics failed");
    }
    const names = new Set<string>([...s.groups.map((r) => r.g), ...s.queue.map((r) => r.g), ...s.deadLetters.map((r) => r.g)]);
    const temporary = new Map(s.groups.map((r) => [r.g, r.temporary === 1]));
    const topics = new Map<string, string[]>();
    for (const b of s.bindings) {
      const list = topics.get(b.g);
      if (list) list.push(b.topic);
      else topics.set(b.g, [b.topic]);
    }
    const queues = new Map(s.queue.map((r) => [r.g, r]));
    const dead = new Map(s.deadLetters.map((r) => [r.g, r.n]));
    const live = new Map(s.consumers.map((r) => [r.g, r.n]));
    return [...names].sort().map((g): QueueStats => {
      const q = queues.get(g);
      const depth = q?.depth ?? 0;
      const inFlight = q?.in_flight ?? 0;
      const delayed = q?.delayed ?? 0;
      return {
        group: g,
        topics: topics.get(g) ?? [],
        depth,
        ready: depth - inFlight - delayed,
        inFlight,
        delayed,
        oldestAgeMs: q?.oldest === null || q?.oldest === undefined ? undefined : Math.max(0, now - q.oldest),
        deadLetters: dead.get(g) ?? 0,
        consumers: live.get(g) ?? 0,
        temporary: temporary.get(g) ?? false,
      };
    });
  };
}

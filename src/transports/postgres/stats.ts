/**
 * Queue statistics for `missive queues`, read in one REPEATABLE READ
 * snapshot so the numbers agree with each other.
 */
import type { Pool } from "pg";
import type { QueueStats } from "../../transport/transport.js";
import { LIVE_MS } from "./consumers.js";
import { NOW_MS, type PgTableNames } from "./schema.js";
import { toPgTransportError } from "./errors.js";
import { holdClient } from "../../stores/postgres/checked-out.js";

interface QueueRow { readonly g: string; readonly depth: string; readonly in_flight: string; readonly delayed: string; readonly oldest: string | null; readonly now: string }

export async function readStats(pool: Pool, t: PgTableNames): Promise<QueueStats[]> {
  const client = await pool.connect().catch((err: unknown) => {
    throw toPgTransportError(err, "reading queue statistics: connecting failed");
  });
  let broken: Error | undefined;
  const unhold = holdClient(client);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const now = Number((await client.query<{ now: string }>(`SELECT ${NOW_MS} AS now`)).rows[0]?.now);
    const groups = (await client.query<{ g: string; temporary: boolean }>(`SELECT group_name AS g, temporary FROM ${t.groups}`)).rows;
    const bindings = (await client.query<{ g: string; topic: string }>(`SELECT group_name AS g, topic FROM ${t.bindings} ORDER BY topic`)).rows;
    // A row whose lease ran out is deliverable again, so it counts as ready.
    const queue = (await client.query<QueueRow>(
      `SELECT group_name AS g, count(*) AS depth,
              count(*) FILTER (WHERE lease_token IS NOT NULL AND visible_at > $1) AS in_flight,
              count(*) FILTER (WHERE lease_token IS NULL AND visible_at > $1) AS delayed,
              min(enqueued_at) AS oldest, $1 AS now
         FROM ${t.queue} GROUP BY group_name`,
      [now],
    )).rows;
    const dead = (await client.query<{ g: string; n: string }>(`SELECT group_name AS g, count(*) AS n FROM ${t.deadLetters} GROUP BY group_name`)).rows;
    const live = (await client.query<{ g: string; n: string }>(`SELECT group_name AS g, count(*) AS n FROM ${t.consumers} WHERE seen_at >= $1 GROUP BY group_name`, [now - LIVE_MS])).rows;
    await client.query("COMMIT");
    const names = new Set<string>([...groups.map((r) => r.g), ...queue.map((r) => r.g), ...dead.map((r) => r.g)]);
    const temporary = new Map(groups.map((r) => [r.g, r.temporary]));
    const topics = new Map<string, string[]>();
    for (const b of bindings) (topics.get(b.g) ?? topics.set(b.g, []).get(b.g)!).push(b.topic);
    const queues = new Map(queue.map((r) => [r.g, r]));
    const deadBy = new Map(dead.map((r) => [r.g, Number(r.n)]));
    const liveBy = new Map(live.map((r) => [r.g, Number(r.n)]));
    return [...names].sort().map((g): QueueStats => {
      const q = queues.get(g);
      const depth = Number(q?.depth ?? 0);
      const inFlight = Number(q?.in_flight ?? 0);
      const delayed = Number(q?.delayed ?? 0);
      return {
        group: g,
        topics: topics.get(g) ?? [],
        depth,
        ready: depth - inFlight - delayed,
        inFlight,
        delayed,
        oldestAgeMs: q?.oldest === null || q?.oldest === undefined ? undefined : Math.max(0, now - Number(q.oldest)),
        deadLetters: deadBy.get(g) ?? 0,
        consumers: liveBy.get(g) ?? 0,
        temporary: temporary.get(g) ?? false,
      };
    });
  } catch (err) {
    await client.query("ROLLBACK").catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
    throw toPgTransportError(err, "reading queue statistics failed");
  } finally {
    unhold();
    client.release(broken);
  }
}

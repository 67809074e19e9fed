/**
 * `missive queues` on Redis: a group's queue is its consumer groups on the
 * streams it reads. Ready is the group's lag (entries past its cursor;
 * counted with XRANGE where Redis cannot tell the lag after deletions), in
 * flight its pending entries, and the oldest age is the time in the id of
 * its first pending entry or first unread one. A released entry stays
 * pending (idle for a year, so any consumer claims it) and counts as ready. Consumer names outlive
 * their processes in Redis, so `consumers` is undefined.
 */
import type { Redis } from "ioredis";
import type { QueueStats } from "../../transport/transport.js";
import { idTime, type RedisNames } from "./names.js";
import type { RedisDeadLetterStore } from "./dead-letter-store.js";
import { RELEASED_AT_LEAST_MS } from "./released.js";

/** Counting unread entries one by one stops here (the lag is then a lower bound). */
const COUNT_CAP = 100_000;

interface GroupCursor {
  readonly pending: number;
  readonly lastDelivered: string;
  readonly lag: number | null;
}

export async function readRedisStats(redis: Redis, names: RedisNames, deadLetters: RedisDeadLetterStore): Promise<QueueStats[]> {
  const groups = (await redis.smembers(names.groups())).sort();
  const temporary = new Set(await redis.smembers(names.temporary()));
  const dead = new Map<string, number>();
  for (const entry of await deadLetters.list({ limit: 10_000 })) dead.set(entry.group, (dead.get(entry.group) ?? 0) + 1);
  const out: QueueStats[] = [];
  const now = Date.now();
  for (const group of groups) {
    const topics = (await redis.smembers(names.topicsOf(group))).sort();
    let ready = 0;
    let inFlight = 0;
    let oldest: number | undefined;
    for (const stream of [names.groupStream(group), ...topics.map((t) => names.topicStream(t))]) {
      const cursor = await cursorOf(redis, stream, group);
      if (cursor === undefined) continue;
      // Released entries stay pending, idle for a year, until a consumer claims them: ready, not in flight.
      const released = cursor.pending === 0 ? 0 : ((await redis.xpending(stream, group, "IDLE", RELEASED_AT_LEAST_MS, "-", "+", COUNT_CAP)) as unknown[]).length;
      inFlight += cursor.pending - released;
      const [unread, firstUnread] = await unreadOf(redis, stream, cursor);
      ready += unread + released;
      if (firstUnread !== undefined) oldest = Math.min(oldest ?? Infinity, idTime(firstUnread));
      if (cursor.pending > 0) {
        const summary = (await redis.xpending(stream, group)) as [number, string | null, string | null, unknown];
        if (summary[1] !== null) oldest = Math.min(oldest ?? Infinity, idTime(summary[1]));
      }
    }
    out.push({
      group,
      topics,
      depth: ready + inFlight,
      ready,
      inFlight,
      delayed: 0,
      oldestAgeMs: oldest === undefined ? undefined : Math.max(0, now - oldest),
      deadLetters: dead.get(group) ?? 0,
      consumers: undefined,
      temporary: temporary.has(group),
    });
  }
  return out;
}

async function cursorOf(redis: Redis, stream: string, group: string): Promise<GroupCursor | undefined> {
  if ((await redis.exists(stream)) === 0) return undefined;
  for (const raw of (await redis.xinfo("GROUPS", stream)) as unknown[][]) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < raw.length; i += 2) info.set(String(raw[i]), raw[i + 1]);
    if (info.get("name") !== group) continue;
    const lag = info.get("lag");
    return { pending: Number(info.get("pending")), lastDelivered: String(info.get("last-delivered-id")), lag: typeof lag === "number" ? lag : null };
  }
  return undefined;
}

/** Entries past the group's cursor, and the first of them. */
async function unreadOf(redis: Redis, stream: string, cursor: GroupCursor): Promise<[number, string | undefined]> {
  const after = `(${cursor.lastDelivered}`;
  const [first] = await redis.xrange(stream, after, "+", "COUNT", 1);
  if (first === undefined) return [0, undefined];
  if (cursor.lag !== null) return [cursor.lag, first[0]];
  const ids = await redis.xrange(stream, after, "+", "COUNT", COUNT_CAP);
  return [ids.length, first[0]];
}

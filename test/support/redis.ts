/** Redis test helpers: a plain client's publish, and removing every key a test prefix made on the shared server. */
import { Redis } from "ioredis";
import type { WireMessage } from "../../src/envelope/wire.js";
import { redisNames } from "../../src/transports/redis/names.js";

export const REDIS_URL = "redis://127.0.0.1:6379";

/** Delete every key under `prefix` (SCAN, never KEYS on a shared server). */
export async function removeRedisPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  try {
    let removed = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) removed += await redis.del(...keys);
    } while (cursor !== "0");
    return removed;
  } finally {
    redis.disconnect();
  }
}

/**
 * A plain client's XADD (docs/transports/redis.md): the headers as fields,
 * the body in `:body`, to the topic's stream; NOMKSTREAM, so a topic no
 * group is bound to refuses it as missive's publish would.
 */
export async function plainRedisPublish(redis: Redis, prefix: string, topic: string, wire: WireMessage): Promise<void> {
  const fields: Array<string | Buffer> = [];
  for (const [name, value] of Object.entries(wire.headers)) fields.push(name, value);
  fields.push(":body", Buffer.from(wire.body));
  const id = await redis.xadd(redisNames(prefix).topicStream(topic), "NOMKSTREAM", "*", ...fields);
  if (id === null) throw new Error(`plain publish refused: no stream for topic ${topic}`);
}

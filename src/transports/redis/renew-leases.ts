/**
 * Lease renewal of a subscription's entries, held or buffered: one renew
 * script per stream (it resets the entries' idle time when they are still
 * this consumer's), and the ones that are not are marked lost.
 */
import type { RedisDelivery } from "./delivery.js";
import type { ScriptedRedis } from "./scripts.js";

export async function renewLeases(redis: ScriptedRedis, group: string, consumer: string, deliveries: readonly RedisDelivery[]): Promise<void> {
  const byStream = new Map<string, RedisDelivery[]>();
  for (const d of deliveries) {
    const list = byStream.get(d.stream);
    if (list) list.push(d);
    else byStream.set(d.stream, [d]);
  }
  for (const [stream, ds] of byStream) {
    const lost = new Set(await redis.missiveRenew(stream, group, consumer, ...ds.map((d) => d.id)));
    for (const d of ds) if (lost.has(d.id)) d.lost = true;
  }
}

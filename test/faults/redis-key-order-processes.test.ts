/**
 * Key order across processes on Redis Streams (ADR 011): two consumer
 * PROCESSES of one ordered group on the shared redis-server under a prefix of
 * the test's own, many keys, random handler times and transient failures
 * retried with short delays (held in-process: the delay fill, under a
 * renewed lease). Each keyed entry is listed under its key when the group
 * reads it, and only a key's head is handed out, by whichever process read
 * it. One process is SIGKILLed half-way: its pending entries keep their
 * place at the head of their keys until their lease (2 s) runs out and the
 * survivor claims them. Checked from the effects both processes commit into
 * one SQLite file (rowid order is commit order): every key in publish order,
 * nothing lost, no double effect; the key lists and starts hash empty once
 * drained. The same run without `ordered` shows violations (the check bites).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { RedisOrderedConsumerArgs, RedisOrderedConsumerMessage } from "../fixtures/redis-ordered-consumer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { effectsByPid, keyOrderWorlds, startOrderedConsumer, type KeyOrderWorld, type StartedConsumer } from "./key-order-support.js";
import { publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

const GROUP = "billing";
const world = keyOrderWorlds("redis", () => `order-redis-${randomUUID().slice(0, 8)}:`, (p) => removeRedisPrefix(REDIS_URL, p));

function startConsumer(w: KeyOrderWorld, name: string, options: Partial<RedisOrderedConsumerArgs> = {}): Promise<StartedConsumer> {
  const args: RedisOrderedConsumerArgs = {
    url: REDIS_URL, prefix: w.prefix, effects: w.effects, group: GROUP, journal: join(w.dir, `${name}.journal`), concurrency: 16, workMs: 8, failRate: 0.05, ...options,
  };
  return startOrderedConsumer("redis-ordered-consumer", name, args);
}

async function declare(w: KeyOrderWorld): Promise<void> {
  const setup = await missive({ service: "key-order-setup", transport: redisTransport({ url: REDIS_URL, prefix: w.prefix }) });
  await setup.declare(OrderPlaced, GROUP);
  await setup.close();
}

async function publishAll(w: KeyOrderWorld, checker: ReturnType<typeof createChecker>, count: number): Promise<Awaited<ReturnType<typeof publishKeyed>>> {
  const bus = await missive({ service: "key-order-producer", transport: redisTransport({ url: REDIS_URL, prefix: w.prefix }) });
  try {
    return await publishKeyed(bus, checker, { count, keys: 60 });
  } finally {
    await bus.close();
  }
}

/** Key lists and starts-hash fields left under the prefix (both empty once every entry settled). */
async function leftovers(w: KeyOrderWorld): Promise<{ lists: number; starts: number }> {
  const redis = new Redis(REDIS_URL);
  try {
    let lists = 0;
    let cursor = "0";
    // SCAN, never KEYS, on the shared server.
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${w.prefix}k:*`, "COUNT", 500);
      cursor = next;
      lists += keys.length;
    } while (cursor !== "0");
    const starts = await redis.hlen(`${w.prefix}n:${GROUP}`);
    return { lists, starts };
  } finally {
    redis.disconnect();
  }
}

describe("redis - key order across processes", () => {
  it("redis - one of two ordered consumer processes SIGKILLed half-way: its entries come back to the other after the lease, ahead of their keys' later entries; order per key holds, nothing lost or doubled", async () => {
    const w = world();
    const checker = createChecker();
    await declare(w);
    const victim = await startConsumer(w, "victim", { stallAfter: 600 });
    const survivor = await startConsumer(w, "survivor");
    const publishing = publishAll(w, checker, 3000);
    await killOnMessage(victim.child, (m: RedisOrderedConsumerMessage) => "stalled" in m, 90_000, "the victim stalled mid-handler");
    const published = await publishing;
    expect(published.rejected).toBe(0);
    const drained = await settled(w.effects, published.confirmedIds, 90_000);

    const back = readBack(w.effects, checker, [victim.journal, survivor.journal]);
    const r = checker.check();
    const byPid = effectsByPid(w.effects);
    console.log(`[key-order] redis sigkill: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} retried=${victim.progress.retried + survivor.progress.retried} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.confirmed).toBe(3000);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    for (const n of byPid.values()) expect(n).toBeGreaterThan(300);
    expect(victim.progress.retried + survivor.progress.retried).toBeGreaterThan(0);
    survivor.child.kill("SIGKILL");
    expect(await leftovers(w)).toEqual({ lists: 0, starts: 0 });
  }, 180_000);
});

// Its own describe: it proves the check bites, not a guarantee (docs/guarantees.md matches on the names).
describe("redis - two consumer processes without order", () => {
  it("redis - the same two processes without `ordered`: keys interleave across them and retries go behind later entries (the order check bites)", async () => {
    const w = world();
    const checker = createChecker();
    await declare(w);
    const a = await startConsumer(w, "a", { ordered: false });
    const b = await startConsumer(w, "b", { ordered: false });
    const published = await publishAll(w, checker, 1500);
    expect(published.rejected).toBe(0);
    const drained = await settled(w.effects, published.confirmedIds, 90_000);

    const back = readBack(w.effects, checker, [a.journal, b.journal]);
    const r = checker.check();
    console.log(`[key-order] redis unordered: drained=${drained} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.orderViolations).toBeGreaterThan(0);
  }, 180_000);
});

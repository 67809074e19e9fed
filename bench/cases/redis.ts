/**
 * Redis Streams cases: raw ioredis and missive doing the same durable work on
 * one Redis (the shared server, or the bench's own with `appendfsync always`),
 * each under a key prefix of its own (removed when the case ends).
 *
 * - raw: the stream missive's topology makes for the topic and one consumer
 *   group on it; `XADD … NOMKSTREAM *` with the same fields missive writes
 *   (the CloudEvents headers, then `:body`), pipelined `batch` at a time with
 *   `publishers / batch` pipelines in flight; then `XREADGROUP … COUNT
 *   prefetch` on the group, each body parsed, the ids of each read acked with
 *   one `XACK`.
 * - missive: the bus on redisTransport, `publishers` concurrent publishers
 *   each awaiting its publish; then a consumer (concurrency and prefetch
 *   `prefetch`) draining that backlog, each message validated and acked.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { missive, type Bus } from "../../src/index.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { removeRedisPrefix } from "../../test/support/redis.js";
import { busLatency, consumeAll, publishConcurrently, publishThenConsume } from "../lib/bus-load.js";
import { drainResult } from "../lib/drain.js";
import { latencyRecorder, pace } from "../lib/latency.js";
import { cpuUsPerMsg, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { BenchEvent, ceHeaders, eventData, GROUP } from "./event.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./sqlite.js";

export interface RedisParams {
  /** `redis://host:port` of the server the case runs on. */
  readonly url: string;
  /** This case's key prefix, removed when the case ends. */
  readonly prefix: string;
  readonly messages: number;
  /** Concurrent missive publishers; XADDs in flight on the raw side. */
  readonly publishers: number;
  /** XADDs per raw pipeline. */
  readonly batch: number;
  /** Entries per raw XREADGROUP; missive's prefetch and handler concurrency. */
  readonly prefetch: number;
}

export interface RedisLatencyParams extends Omit<RedisParams, "messages" | "batch"> {
  readonly rate: number;
  readonly seconds: number;
}

async function withRaw<T>(p: Pick<RedisParams, "url" | "prefix">, fn: (redis: Redis, stream: string) => Promise<T>): Promise<T> {
  const redis = new Redis(p.url, { maxRetriesPerRequest: 1 });
  const stream = redisNames(p.prefix).topicStream(BenchEvent.type);
  try {
    await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
    return await fn(redis, stream);
  } finally {
    redis.disconnect();
    await removeRedisPrefix(p.url, p.prefix);
  }
}

/** The raw consume: XREADGROUP COUNT `prefetch` as consumer "raw" of the bench group, each body parsed, one XACK per read, until `messages` were read. */
export async function rawConsume(redis: Redis, stream: string, messages: number, prefetch: number): Promise<void> {
  let got = 0;
  while (got < messages) {
    const reply = (await redis.callBuffer("XREADGROUP", "GROUP", GROUP, "raw", "COUNT", prefetch, "BLOCK", 1000, "STREAMS", stream, ">")) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    for (const [, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === ":body") JSON.parse(fields[i + 1]!.toString("utf8"));
    }
    await redis.xack(stream, GROUP, ...entries.map(([id]) => id));
    got += entries.length;
  }
}

export function redisRaw(p: RedisParams): Promise<ThroughputResult> {
  return withRaw(p, async (redis, stream) => {
    const body = Buffer.from(JSON.stringify(eventData()));
    const pubRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let sent = 0;
    await Promise.all(Array.from({ length: Math.max(1, Math.floor(p.publishers / p.batch)) }, async () => {
      while (sent < p.messages) {
        const n = Math.min(p.batch, p.messages - sent);
        sent += n;
        const pipeline = redis.pipeline();
        for (let i = 0; i < n; i++) {
          const fields = Object.entries(ceHeaders(randomUUID())).flat();
          pipeline.xadd(stream, "NOMKSTREAM", "*", ...fields, ":body", body);
        }
        for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
      }
    }));
    const publishMs = performance.now() - t0;
    const publishCpu = cpuUsPerMsg(cpu0, p.messages);
    pubRss.stop();

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    await rawConsume(redis, stream, p.messages, p.prefetch);
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, p.messages);
    conRss.stop();
    return {
      publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
      consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  });
}

async function withBus<T>(p: Pick<RedisParams, "url" | "prefix">, remove: boolean, fn: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await missive({ transport: redisTransport({ url: p.url, prefix: p.prefix }), service: "bench" });
  try {
    await bus.declare(BenchEvent, GROUP);
    return await fn(bus);
  } finally {
    await bus.close();
    if (remove) await removeRedisPrefix(p.url, p.prefix);
  }
}

const consumerOf = (prefetch: number): { group: string; concurrency: number; prefetch: number } => ({ group: GROUP, concurrency: prefetch, prefetch });

export function redisMissive(p: RedisParams): Promise<ThroughputResult> {
  return withBus(p, true, (bus) => publishThenConsume(bus, p.messages, p.publishers, consumerOf(p.prefetch)));
}

export function redisLatencyMissive(p: RedisLatencyParams): Promise<LatencyResult> {
  return withBus(p, true, (bus) => busLatency(bus, consumerOf(p.prefetch), p));
}

/**
 * The raw client's publish→handler latency at the same offered rate: each XADD (the same fields) awaited on its own,
 * one consumer on a connection of its own reading up to `prefetch` entries with XREADGROUP BLOCK, each body parsed,
 * one XACK per read before the next.
 */
export function redisLatencyRaw(p: RedisLatencyParams): Promise<LatencyResult> {
  return withRaw(p, async (redis, stream) => {
    const reader = new Redis(p.url, { maxRetriesPerRequest: 1 });
    const rec = latencyRecorder();
    let reading = true;
    const consumed = (async () => {
      while (reading) {
        const reply = (await reader.callBuffer("XREADGROUP", "GROUP", GROUP, "raw", "COUNT", p.prefetch, "BLOCK", 100, "STREAMS", stream, ">")) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        for (const [, fields] of entries) {
          for (let i = 0; i + 1 < fields.length; i += 2) {
            if (fields[i]!.toString() === ":body") rec.record((JSON.parse(fields[i + 1]!.toString("utf8")) as { sentAt: number }).sentAt);
          }
        }
        await reader.xack(stream, GROUP, ...entries.map(([id]) => id));
      }
    })();
    try {
      const rss = new RssSampler().start();
      const base = eventData();
      const failures: unknown[] = [];
      const t0 = performance.now();
      const { sent, measuredFrom } = await pace(p.rate, p.seconds, (sentAt) => {
        const fields = Object.entries(ceHeaders(randomUUID())).flat();
        redis.xadd(stream, "NOMKSTREAM", "*", ...fields, ":body", JSON.stringify({ ...base, sentAt })).catch((err: unknown) => failures.push(err));
      });
      await rec.waitFor(sent, 30_000);
      const ms = performance.now() - t0;
      rss.stop();
      if (failures.length > 0) throw new Error(`${failures.length} raw XADDs failed: ${String(failures[0])}`);
      return { ...rec.summary(measuredFrom), handledPerS: rate(sent, ms), rssMb: rss.peakMb };
    } finally {
      reading = false;
      await consumed;
      reader.disconnect();
    }
  });
}

/** Fill a backlog for redisDrain through missive (a process of its own, so the drain's RSS is the drain's); the keys stay. */
export async function redisFill(p: RedisParams): Promise<{ published: number }> {
  await withBus(p, false, (bus) => publishConcurrently(bus, p.messages, p.publishers));
  return { published: p.messages };
}

/** Drain the filled backlog through missive, RSS sampled every 10 ms; the keys are removed after. */
export function redisDrain(p: RedisParams): Promise<DrainResult> {
  return withBus(p, true, async (bus) => {
    let handled = 0;
    const rss = new RssSampler(() => handled / p.messages).start(10);
    const t0 = performance.now();
    let ms: number;
    try {
      await consumeAll(bus, consumerOf(p.prefetch), p.messages, () => handled++);
      ms = performance.now() - t0;
    } finally {
      rss.stop();
    }
    return drainResult(rss, p.messages, ms);
  });
}

/**
 * The publish path's client CPU and allocation per message (issue 17): the
 * bus on a transport, `publishers` concurrent callers each awaiting its
 * publish (as the bench's publish rows), in one process.
 *
 * - `null`: the memory transport with its publish replaced by an immediate
 *   confirm, so what is measured is the shared path alone (validation,
 *   envelope, encode, producer batching, confirm resolution).
 * - `memory`: the memory transport as it is (a group bound, the messages kept).
 * - `redis`: redisTransport on the shared server, under a prefix of its own
 *   removed afterwards; `nats`: natsTransport on the shared nats-server, the same way.
 *
 * `--dist DIR` loads missive compiled in DIR (a copy of another commit's
 * dist/, for an A/B); default this worktree's dist/ (run `npm run build` first).
 * Prints one JSON line: µs CPU per message, bytes allocated per message
 * (heap growth over windows no collection ran in, with a young generation
 * large enough to hold one), msg/s.
 *
 *   node --max-semi-space-size=128 --import tsx bench/producer-quick.ts [--mode null|memory|redis|nats] [--messages 200000] [--publishers 64] [--max-batch N] [--dist DIR]
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { z } from "zod";
import type * as Missive from "../src/index.js";
import type * as MissiveMemory from "../src/transports/memory/index.js";
import type * as MissiveNats from "../src/transports/nats/index.js";
import type * as MissiveRedis from "../src/transports/redis/index.js";
import { removeNatsPrefix } from "../test/support/nats.js";
import { removeRedisPrefix } from "../test/support/redis.js";

const args = new Map<string, string>();
for (let i = 2; i + 1 < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const mode = args.get("mode") ?? "null";
const total = Number(args.get("messages") ?? 200_000);
const publishers = Number(args.get("publishers") ?? 64);
/** publisher.maxBatch; default the bus's (512). */
const maxBatch = args.has("max-batch") ? Number(args.get("max-batch")) : undefined;
const dist = args.get("dist") ?? join(import.meta.dirname, "..", "dist");
const REDIS_URL = "redis://127.0.0.1:6379";
const NATS_SERVER = "127.0.0.1:4222";

const m = (await import(join(dist, "index.js"))) as typeof Missive;
const event = m.defineMessage({
  type: "bench.event",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int(), note: z.string(), sentAt: z.number() }),
});
const data = { orderId: "4821", totalCents: 15900, note: "x".repeat(64), sentAt: 0 };

async function transportOf(): Promise<{ transport: Missive.Transport; cleanup: () => Promise<void> }> {
  if (mode === "redis") {
    const r = (await import(join(dist, "transports/redis/index.js"))) as typeof MissiveRedis;
    const prefix = `producerq-${randomUUID().slice(0, 8)}`;
    return { transport: r.redisTransport({ url: REDIS_URL, prefix }), cleanup: async () => void (await removeRedisPrefix(REDIS_URL, prefix)) };
  }
  if (mode === "nats") {
    const n = (await import(join(dist, "transports/nats/index.js"))) as typeof MissiveNats;
    const prefix = `PRODUCERQ_${randomUUID().slice(0, 8)}`;
    return { transport: n.natsTransport({ servers: [NATS_SERVER], prefix }), cleanup: async () => void (await removeNatsPrefix(NATS_SERVER, prefix)) };
  }
  const mem = (await import(join(dist, "transports/memory/index.js"))) as typeof MissiveMemory;
  const transport = mem.memoryTransport();
  if (mode === "null") {
    // Confirmed on the next microtask, as the memory transport does, with nothing stored.
    transport.publish = (batch) => Promise.resolve().then(() => new Array<undefined>(batch.length).fill(undefined));
  }
  return { transport, cleanup: () => Promise.resolve() };
}

const { transport, cleanup } = await transportOf();
// Messages per transport batch: what the producer's batching gives the transport to amortise its round trip over.
let batches = 0;
let batched = 0;
const publishOf = transport.publish.bind(transport);
transport.publish = (batch) => {
  batches++;
  batched += batch.length;
  return publishOf(batch);
};
const bus = await m.missive({ transport, service: "bench", ...(maxBatch === undefined ? {} : { publisher: { maxBatch } }) });
await bus.declare(event, "bench");

let collections = 0;
new PerformanceObserver((list) => (collections += list.getEntries().length)).observe({ entryTypes: ["gc"] });

async function run(n: number): Promise<{ cpuUs: number; sysUs: number; ms: number; bytes: number | undefined }> {
  let sent = 0;
  let grown = 0;
  let counted = 0;
  let windowStart = getHeapStatistics().used_heap_size;
  let windowCollections = collections;
  let windowSent = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: publishers }, async () => {
    while (sent < n) {
      sent++;
      await bus.publish(event, data);
      // Every 4096 messages: the heap's growth counts when no collection ran meanwhile.
      if (sent - windowSent >= 4096) {
        const used = getHeapStatistics().used_heap_size;
        if (collections === windowCollections && used > windowStart) {
          grown += used - windowStart;
          counted += sent - windowSent;
        }
        windowStart = used;
        windowCollections = collections;
        windowSent = sent;
      }
    }
  }));
  const ms = performance.now() - t0;
  const u = process.cpuUsage(cpu0);
  return { cpuUs: (u.user + u.system) / n, sysUs: u.system / n, ms, bytes: counted > 0 ? grown / counted : undefined };
}

try {
  await run(Math.min(20_000, total)); // warm-up: compiled code, not the interpreter's
  batches = 0;
  batched = 0;
  const r = await run(total);
  console.log(JSON.stringify({
    mode, dist, messages: total, publishers, maxBatch: maxBatch ?? null,
    cpuUsPerMsg: Math.round(r.cpuUs * 100) / 100,
    // Of which the kernel's (the socket writes, on a broker transport).
    sysUsPerMsg: Math.round(r.sysUs * 100) / 100,
    bytesPerMsg: r.bytes === undefined ? null : Math.round(r.bytes),
    msgsPerS: Math.round(total / (r.ms / 1000)),
    perBatch: Math.round((batched / batches) * 10) / 10,
  }));
} finally {
  await bus.close();
  await cleanup();
}

/**
 * The consumer runtime's cost per message, isolated from any broker: the
 * memory transport (no faults), a backlog published first, then one consumer
 * draining it. Prints CPU µs per consumed message, bytes allocated per
 * message (V8's GC profiler: heap used before each collection minus after
 * the previous one) and collections per 10,000 messages, one line per round.
 *
 *   npm run build && node --import tsx bench/runtime-consume-quick.ts [dist=dist] [messages=20000] [concurrency=64] [rounds=3]
 *
 * With RUNTIME_PROF=FILE.cpuprofile set, the consume phase of the measured
 * rounds alone is profiled into FILE (bench/tools/cpuprofile-summary.ts reads it);
 * with RUNTIME_HEAPPROF=FILE.heapprofile, its allocations are sampled into FILE.
 *
 * `dist` is the compiled package to load (a copy of another commit's dist/
 * gives an A/B in the same way): the runtime as users run it, compiled.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { GCProfiler } from "node:v8";
import { z } from "zod";

const distDir = resolve(process.argv[2] ?? "dist");
const total = Number(process.argv[3] ?? 20_000);
const concurrency = Number(process.argv[4] ?? 64);
const rounds = Number(process.argv[5] ?? 3);

type Missive = typeof import("../src/index.js");
type Memory = typeof import("../src/transports/memory/index.js");
const m = (await import(pathToFileURL(`${distDir}/index.js`).href)) as Missive;
const mem = (await import(pathToFileURL(`${distDir}/transports/memory/index.js`).href)) as Memory;

const Event = m.defineMessage({
  type: "bench.event",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int(), note: z.string(), sentAt: z.number() }),
});
const profileTo = process.env.RUNTIME_PROF;
const heapTo = process.env.RUNTIME_HEAPPROF;
const session = profileTo === undefined && heapTo === undefined ? undefined : new Session();
if (session) {
  session.connect();
  await session.post("Profiler.enable");
}
const data = { orderId: "4821", totalCents: 15900, note: "x".repeat(64), sentAt: 0 };

interface Round {
  readonly cpuUs: number;
  readonly bytes: number;
  readonly gcs: number;
  readonly ms: number;
}

async function round(profile: boolean): Promise<Round> {
  const bus = await m.missive({ service: "bench", transport: mem.memoryTransport({ seed: 1 }) });
  try {
    await bus.declare(Event, "bench");
    const batch = 256;
    for (let sent = 0; sent < total; sent += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, total - sent) }, () => bus.publish(Event, data)));
    }
    let got = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    globalThis.gc?.();
    const profiler = new GCProfiler();
    profiler.start();
    if (profile && profileTo !== undefined) await session?.post("Profiler.start");
    if (profile && heapTo !== undefined) await session?.post("HeapProfiler.startSampling", { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const heap0 = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await bus.consume(Event, { group: "bench", concurrency, prefetch: Math.max(256, concurrency) }, () => {
      if (++got === total) done();
    }).ready;
    await all;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (profile && session && profileTo !== undefined) profiles.push((await session.post("Profiler.stop")).profile);
    if (profile && session && heapTo !== undefined) heapProfiles.push((await session.post("HeapProfiler.stopSampling")).profile);
    const heap1 = process.memoryUsage().heapUsed;
    const gcs = profiler.stop().statistics;
    // Allocated = what each collection found in use, less what the previous one left, plus the growth since the last.
    let bytes = 0;
    let after = heap0;
    for (const g of gcs) {
      bytes += g.beforeGC.heapStatistics.usedHeapSize - after;
      after = g.afterGC.heapStatistics.usedHeapSize;
    }
    bytes += heap1 - after;
    return { cpuUs: ((cpu.user + cpu.system) / total), bytes: bytes / total, gcs: (gcs.length * 10_000) / total, ms };
  } finally {
    await bus.close();
  }
}

const profiles: object[] = [];
const heapProfiles: object[] = [];
await round(false); // warm-up
for (let i = 0; i < rounds; i++) {
  const r = await round(true);
  console.log(
    `${distDir} n=${total} c=${concurrency}: cpu ${r.cpuUs.toFixed(1)} µs/msg, alloc ${r.bytes.toFixed(0)} B/msg, ${r.gcs.toFixed(1)} GCs/10k, ${Math.round(total / (r.ms / 1000))} msg/s`,
  );
}
// The last measured round's profile (one file; the summary tool reads one).
if (profileTo !== undefined && profiles.length > 0) writeFileSync(profileTo, JSON.stringify(profiles.at(-1)));
if (heapTo !== undefined && heapProfiles.length > 0) writeFileSync(heapTo, JSON.stringify(heapProfiles.at(-1)));

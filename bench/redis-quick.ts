/**
 * Quick A/B of the Redis consume (issue 17): raw ioredis and one or more
 * builds of missive (dist/ directories) draining the same backlog, in
 * interleaved rounds, each side in a child process of its own, on
 * redis-servers of this run's own (one without persistence, one with
 * `appendfsync always`), so the server's INFO commandstats count only this
 * run: per side, msg/s, client CPU µs/msg and server µs/msg (the sum of
 * every command's usec during the drain, over the messages).
 *
 *   npx tsx bench/redis-quick.ts [--messages 50000] [--rounds 3] [--prefetch 256] DIST…
 *
 * A DIST is a built dist/ directory whose ancestors hold node_modules (for
 * main: copy /work/main/dist under a directory with a node_modules link).
 * QUICK_STATS=1 prints each command's server time, QUICK_PROFILE=FILE writes
 * a CPU profile of the drain (with one side and one round).
 * `npm run bench -- --only redis` is the full comparison (bench/redis-run.ts).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { startBroker, type BrokerProcess } from "../test/support/broker-process.js";
import { BenchEvent, eventData, GROUP } from "./cases/event.js";
import { rawConsume } from "./cases/redis.js";
import { cpuUsPerMsg, rate } from "./lib/measure.js";

interface Side {
  readonly perS: number;
  readonly cpuUsPerMsg: number;
  readonly serverUsPerMsg: number;
}

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};

/** The server's CPU so far, µs (INFO cpu: user + system, its main thread and the rest). */
async function serverUsec(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const of = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (of("used_cpu_user") + of("used_cpu_sys")) * 1e6;
}

/** Calls and usec per command (INFO commandstats; a script's own calls are counted too, and inside its usec). */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+),/gm)) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

/** In a child: fill `messages` through the dist's bus (or raw XADDs of the same fields), then drain them, measured. */
async function child(dist: string, url: string, prefix: string, messages: number, prefetch: number): Promise<Side> {
  const stats = new Redis(url);
  const lib = (await import(pathToFileURL(resolve(dist === "raw" ? "dist" : dist, "index.js")).href)) as typeof import("../src/index.js");
  const redisLib = (await import(pathToFileURL(resolve(dist === "raw" ? "dist" : dist, "transports/redis/index.js")).href)) as typeof import("../src/transports/redis/index.js");
  const bus = await lib.missive({ transport: redisLib.redisTransport({ url, prefix }), service: "bench" });
  const Event = lib.defineMessage({ type: BenchEvent.type, schema: BenchEvent.schema });
  try {
    await bus.declare(Event, GROUP);
    let sent = 0;
    const data = eventData();
    await Promise.all(Array.from({ length: 256 }, async () => {
      while (sent < messages) {
        sent++;
        await bus.publish(Event, data);
      }
    }));
    // QUICK_PROFILE=FILE: a CPU profile of the drain alone (bench/tools/cpuprofile-summary.ts reads it).
    const profile = process.env["QUICK_PROFILE"];
    const session = profile === undefined ? undefined : new Session();
    if (session) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    const usec0 = await serverUsec(stats);
    const stats0 = await commandStats(stats);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // QUICK_DRAIN=0: the fill alone (to take its server work out of a count of the whole child's).
    if (process.env["QUICK_DRAIN"] === "0") return { perS: 0, cpuUsPerMsg: 0, serverUsPerMsg: 0 };
    if (dist === "raw") await rawDrain(url, `${prefix}t:${BenchEvent.type}`, messages, prefetch);
    else {
      let handled = 0;
      await new Promise<void>((done) => {
        bus.consume(Event, { group: GROUP, concurrency: prefetch, prefetch }, () => {
          if (++handled === messages) done();
        });
      });
    }
    const ms = performance.now() - t0;
    const cpu = cpuUsPerMsg(cpu0, messages);
    const usec = (await serverUsec(stats)) - usec0;
    if (session) writeFileSync(profile!, JSON.stringify((await session.post("Profiler.stop")).profile));
    if (process.env["QUICK_STATS"] === "1") {
      for (const [name, now] of await commandStats(stats)) {
        const was = stats0.get(name) ?? { calls: 0, usec: 0 };
        if (now.calls > was.calls) console.error(`  ${dist} ${name}: ${now.calls - was.calls} calls, ${Math.round(((now.usec - was.usec) / messages) * 100) / 100} µs/msg`);
      }
    }
    return { perS: rate(messages, ms), cpuUsPerMsg: cpu, serverUsPerMsg: Math.round((usec / messages) * 100) / 100 };
  } finally {
    await bus.close();
    await stats.flushall();
    stats.disconnect();
  }
}

/** bench/cases/redis.ts's raw consume on a connection of its own. */
async function rawDrain(url: string, stream: string, messages: number, prefetch: number): Promise<void> {
  const redis = new Redis(url);
  try {
    await rawConsume(redis, stream, messages, prefetch);
  } finally {
    redis.disconnect();
  }
}

/** A side `DIR` or `DIR:NAME=VALUE` (that variable set in its child, for a switch under test). */
function runChild(side: string, args: string[]): Promise<Side> {
  const [dist, setting] = side.split(":") as [string, string | undefined];
  const env = { ...process.env };
  if (setting !== undefined) env[setting.slice(0, setting.indexOf("="))] = setting.slice(setting.indexOf("=") + 1);
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [...process.execArgv, import.meta.filename, "child", dist, ...args], { stdio: ["ignore", "pipe", "inherit"], env });
    let out = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    p.on("exit", (code) => (code === 0 ? done(JSON.parse(out.trim().split("\n").at(-1)!) as Side) : fail(new Error(`child exited ${code}`))));
  });
}

const range = (xs: number[]): string => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);

async function main(): Promise<void> {
  const messages = arg("messages", 50_000);
  const rounds = arg("rounds", 3);
  const prefetch = arg("prefetch", 256);
  const dists = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.startsWith("--"));
  const sides = ["raw", ...dists];
  const servers: Array<{ label: string; broker: BrokerProcess }> = [
    { label: "no persistence", broker: await startBroker("redis") },
    { label: "appendfsync always", broker: await startBroker("redis", { appendOnly: true }) },
  ];
  try {
    for (const { label, broker } of servers) {
      const url = `redis://127.0.0.1:${broker.port}`;
      const got = new Map<string, Side[]>(sides.map((s) => [s, []]));
      for (let round = 1; round <= rounds; round++) {
        for (const side of sides) {
          const r = await runChild(side, [url, `quick${round}:`, String(messages), String(prefetch)]);
          got.get(side)!.push(r);
          console.log(`${label} round ${round} ${side}: ${r.perS} msg/s, client ${r.cpuUsPerMsg} µs/msg, server ${r.serverUsPerMsg} µs/msg`);
        }
      }
      const raw = got.get("raw")!;
      for (const side of sides) {
        const rs = got.get(side)!;
        console.log(`${label} ${side}: ${range(rs.map((r) => r.perS))} msg/s (ratio ${range(rs.map((r, i) => Math.round((r.perS / raw[i]!.perS) * 100) / 100))}), client ${range(rs.map((r) => r.cpuUsPerMsg))} µs/msg, server ${range(rs.map((r) => r.serverUsPerMsg))} µs/msg`);
      }
    }
  } finally {
    for (const { broker } of servers) await broker.stop();
  }
}

if (process.argv[2] === "child") {
  const [, , , dist, url, prefix, messages, prefetch] = process.argv;
  child(dist!, url!, prefix!, Number(messages), Number(prefetch)).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  await main();
}

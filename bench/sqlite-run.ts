/**
 * The SQLite rows of `npm run bench`: missive on sqliteTransport against raw
 * better-sqlite3 doing the same durable work and against BullMQ (on the local
 * Redis, and unless --quick or --no-durable-peer on a Redis of the bench's
 * own that fsyncs every write), in the same rounds; then publish→handler
 * latency at a fixed rate and RSS through a drain.
 */
import { startBroker, type BrokerProcess } from "../test/support/broker-process.js";
import type { PeerThroughput, RedisAddress } from "./cases/bullmq.js";
import { redisUnreachable } from "./cases/bullmq.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./cases/sqlite.js";
import type { BenchConfig } from "./lib/args.js";
import { runChild } from "./lib/child.js";
import { drainNotes, drainSummary } from "./lib/drain.js";
import { emptyRow, median, ratios, roundInt, type Row } from "./lib/results.js";

export type InTempDir = <T>(fn: (dir: string) => Promise<T>) => Promise<T>;

export async function sqliteRows(cfg: BenchConfig, inTempDir: InTempDir, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const redis: RedisAddress = cfg.redis;
  const peerSkipped = cfg.peer ? await redisUnreachable(redis) : "--no-peer given";
  if (peerSkipped) log(`BullMQ peer cases skipped: ${peerSkipped}`);
  const peer = peerSkipped === undefined;
  // The local Redis keeps nothing on disk; missive fsyncs every commit. For a like-for-like
  // figure the peer also runs on a Redis of our own that fsyncs every write.
  let durableRedis: BrokerProcess | undefined;
  if (peer && cfg.durablePeer) {
    durableRedis = await startBroker("redis", { appendOnly: true }).catch((err: unknown) => {
      log(`durable BullMQ peer skipped: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
  }

  const raw: ThroughputResult[] = [];
  const mis: ThroughputResult[] = [];
  const bull: PeerThroughput[] = [];
  const durableBull: PeerThroughput[] = [];
  for (let round = 1; round <= cfg.runs; round++) {
    const params = { messages: cfg.messages, publishers: cfg.publishers };
    raw.push(await inTempDir((dir) => runChild<ThroughputResult>("sqlite-raw", { ...params, dir }, timeoutMs)));
    mis.push(await inTempDir((dir) => runChild<ThroughputResult>("sqlite-missive", { ...params, dir }, timeoutMs)));
    if (peer) bull.push(await runChild<PeerThroughput>("bullmq-throughput", { ...params, redis }, timeoutMs));
    if (durableRedis) durableBull.push(await runChild<PeerThroughput>("bullmq-throughput", { ...params, redis: { host: "127.0.0.1", port: durableRedis.port } }, timeoutMs));
    const b = bull[round - 1];
    log(
      `round ${round}: publish missive ${mis[round - 1]!.publish} raw ${raw[round - 1]!.publish}${b ? ` bullmq ${b.add}` : ""}; ` +
        `consume missive ${mis[round - 1]!.consume} raw ${raw[round - 1]!.consume}${b ? ` bullmq ${b.worker}` : ""} msg/s` +
        (durableBull[round - 1] ? `; durable bullmq add ${durableBull[round - 1]!.add} worker ${durableBull[round - 1]!.worker}` : ""),
    );
  }
  await durableRedis?.stop();

  log("latency…");
  const lat = await inTempDir((dir) => runChild<LatencyResult>("sqlite-latency", { dir, rate: cfg.rate, seconds: cfg.seconds }, timeoutMs));
  const bullLat = peer ? await runChild<LatencyResult>("bullmq-latency", { redis, rate: cfg.rate, seconds: cfg.seconds }, timeoutMs) : undefined;

  log(`drain of a ${cfg.backlog}-message backlog…`);
  const drain = await inTempDir(async (dir) => {
    await runChild("sqlite-fill", { dir, backlog: cfg.backlog, publishers: cfg.publishers }, timeoutMs);
    return runChild<DrainResult>("sqlite-drain", { dir, backlog: cfg.backlog }, timeoutMs);
  });

  const pick = <T>(list: readonly T[], f: (x: T) => number): number[] => list.map(f);
  const med = (xs: readonly number[]): number | null => roundInt(median(xs));
  const medRatio = (xs: readonly number[]): number | null => median(xs);

  /** The peer on a Redis with `appendonly yes, appendfsync always`: in the row's notes and runs. */
  function addDurablePeer(r: Row, missive: number[], durable: number[]): void {
    r.runs["durable_peer_msgs_per_s"] = durable;
    r.runs["durable_peer_ratio"] = ratios(missive, durable);
    r.notes["durable_peer_msgs_per_s"] = med(durable);
    r.notes["durable_peer_ratio"] = medRatio(r.runs["durable_peer_ratio"]);
    r.notes["durable_peer_redis"] = durableBull[0]!.redisPersistence;
  }

  /** One throughput row: missive vs raw in the same rounds, and the peer (local and durable) where it ran. */
  function throughputRow(
    name: string,
    side: { readonly rate: (t: ThroughputResult) => number; readonly rss: (t: ThroughputResult) => number; readonly cpu: (t: ThroughputResult) => number },
    peerSide: { readonly label: string; readonly rate: (p: PeerThroughput) => number; readonly rss: (p: PeerThroughput) => number },
  ): Row {
    const r = emptyRow("sqlite", name);
    const m = pick(mis, side.rate);
    const w = pick(raw, side.rate);
    r.msgs_per_s = med(m);
    r.raw_msgs_per_s = med(w);
    r.runs = { msgs_per_s: m, raw_msgs_per_s: w, ratio: ratios(m, w) };
    r.ratio = medRatio(r.runs["ratio"]!);
    r.rss_mb = Math.max(...pick(mis, side.rss));
    r.notes = { cpu_us_per_msg: median(pick(mis, side.cpu)), raw_cpu_us_per_msg: median(pick(raw, side.cpu)), raw_rss_mb: Math.max(...pick(raw, side.rss)) };
    if (peer) {
      const b = pick(bull, peerSide.rate);
      r.peer = peerSide.label;
      r.peer_msgs_per_s = med(b);
      r.runs["peer_msgs_per_s"] = b;
      r.runs["peer_ratio"] = ratios(m, b);
      r.peer_ratio = medRatio(r.runs["peer_ratio"]);
      r.notes["peer_rss_mb"] = Math.max(...pick(bull, peerSide.rss));
    }
    if (durableBull.length > 0) addDurablePeer(r, m, pick(durableBull, peerSide.rate));
    return r;
  }

  const rows: Row[] = [];
  rows.push(throughputRow(
    `publish, ${cfg.publishers} concurrent publishers, synchronous=FULL`,
    { rate: (x) => x.publish, rss: (x) => x.publishRssMb, cpu: (x) => x.publishCpuUsPerMsg },
    { label: `bullmq Queue.add, ${cfg.publishers} concurrent callers`, rate: (x) => x.add, rss: (x) => x.addRssMb },
  ));
  if (peer) {
    rows[0]!.notes["peer_client"] = bull[0]!.client;
    rows[0]!.notes["peer_redis_persistence"] = bull[0]!.redisPersistence;
  }
  rows.push(throughputRow(
    "consume+ack, concurrency 64, prefetch 256",
    { rate: (x) => x.consume, rss: (x) => x.consumeRssMb, cpu: (x) => x.consumeCpuUsPerMsg },
    { label: "bullmq Worker, concurrency 50", rate: (x) => x.worker, rss: (x) => x.workerRssMb },
  ));
  {
    const r = emptyRow("sqlite", `publish→handler latency at ${cfg.rate} msg/s for ${cfg.seconds} s`);
    r.msgs_per_s = lat.handledPerS;
    r.p50_ms = lat.p50;
    r.p99_ms = lat.p99;
    r.rss_mb = lat.rssMb;
    r.notes = { max_ms: lat.max, samples: lat.count };
    if (bullLat) {
      r.peer = "bullmq Queue.add → Worker (concurrency 50)";
      r.peer_p50_ms = bullLat.p50;
      r.peer_p99_ms = bullLat.p99;
      r.notes["peer_max_ms"] = bullLat.max;
    }
    rows.push(r);
  }
  {
    const r = emptyRow("sqlite", `drain a ${cfg.backlog}-message backlog (RSS)`);
    r.msgs_per_s = drain.drainPerS;
    r.rss_mb = drain.peakMb;
    r.notes = drainNotes(drain);
    rows.push(r);
  }

  const summary = [drainSummary("sqlite", drain)];
  if (peer) summary.push(`peer: ${String(rows[0]!.notes["peer_client"])}; Redis persistence ${String(rows[0]!.notes["peer_redis_persistence"])}`);
  if (durableBull.length > 0) {
    summary.push(
      `durable peer (BullMQ on a Redis of its own, ${String(rows[0]!.notes["durable_peer_redis"])}): ` +
        `add ${String(rows[0]!.notes["durable_peer_msgs_per_s"])} msg/s (missive/peer ${String(rows[0]!.notes["durable_peer_ratio"])}), ` +
        `worker ${String(rows[1]!.notes["durable_peer_msgs_per_s"])} msg/s (missive/peer ${String(rows[1]!.notes["durable_peer_ratio"])})`,
    );
  }
  return { rows, summary };
}

/**
 * The Redis Streams rows of `npm run bench`: missive on redisTransport against
 * raw ioredis doing the same work (pipelined XADDs with the same fields;
 * XREADGROUP + XACK) and against BullMQ, in the same rounds, on two servers:
 * the shared one (`--redis`, 127.0.0.1:6379 by default, whatever persistence
 * it has) and a redis-server of the bench's own with `appendonly yes,
 * appendfsync always` (its own port and data dir, started here and stopped
 * at the end), where an entry id means the write is on disk. Then
 * publish→handler latency at the fixed rate on each (missive, raw ioredis and BullMQ),
 * and RSS through a drain on the shared server. Every case under a key
 * prefix of the run's own, removed when it ends (BullMQ obliterates its
 * queue). When the shared server is unreachable the rows are skipped and
 * said so; `--no-peer` leaves BullMQ out.
 */
import { randomBytes } from "node:crypto";
import { startBroker, type BrokerProcess } from "../test/support/broker-process.js";
import type { PeerThroughput, RedisAddress } from "./cases/bullmq.js";
import { redisUnreachable } from "./cases/bullmq.js";
import type { RedisLatencyParams, RedisParams } from "./cases/redis.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./cases/sqlite.js";
import type { BenchConfig } from "./lib/args.js";
import { runChild } from "./lib/child.js";
import { drainNotes, drainSummary } from "./lib/drain.js";
import { P99_SLACK_MS } from "./lib/latency.js";
import { emptyRow, type Row } from "./lib/results.js";
import { addPeer, throughputRow, type Phase } from "./lib/throughput-row.js";

/** Concurrent missive publishers and BullMQ callers; XADDs in flight on the raw side. */
const PUBLISHERS = 256;
/** XADDs per raw pipeline. */
const BATCH = 64;
/** Entries per raw XREADGROUP; missive's prefetch and handler concurrency. */
const PREFETCH = 256;

type Config = Pick<BenchConfig, "messages" | "runs" | "backlog" | "rate" | "seconds" | "peer" | "redis">;

interface Server {
  /** In row names: which server. */
  readonly label: string;
  readonly address: RedisAddress;
}

const urlOf = (a: RedisAddress): string => `redis://${a.host}:${a.port}`;

/** BullMQ's figures in the shape of a throughput side (add is its publish, the worker its consume). */
const asThroughput = (p: PeerThroughput): ThroughputResult => ({
  publish: p.add, publishRssMb: p.addRssMb, publishCpuUsPerMsg: p.addCpuUsPerMsg,
  consume: p.worker, consumeRssMb: p.workerRssMb, consumeCpuUsPerMsg: p.workerCpuUsPerMsg,
});

export async function redisRows(cfg: Config, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const missing = await redisUnreachable(cfg.redis);
  if (missing) {
    log(`Redis cases skipped: ${missing}`);
    return { rows: [], summary: [] };
  }
  const runPrefix = `missive-bench-${randomBytes(4).toString("hex")}:`;
  let durable: BrokerProcess | undefined;
  try {
    durable = await startBroker("redis", { appendOnly: true });
  } catch (err) {
    log(`Redis durable-server rows skipped: redis-server could not be started (${err instanceof Error ? err.message : String(err)})`);
  }
  // An interrupted run must not leave its server running (the shared server's keys go with each case's prefix).
  const onSignal = (signal: NodeJS.Signals): void => void (durable?.stop() ?? Promise.resolve()).finally(() => process.kill(process.pid, signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const servers: Server[] = [{ label: "shared server", address: cfg.redis }];
    if (durable) servers.push({ label: "own server, appendfsync always", address: { host: "127.0.0.1", port: durable.port } });
    const rows: Row[] = [];
    for (const server of servers) rows.push(...(await serverRows(cfg, server, `${runPrefix}${rows.length}:`, log, timeoutMs)));
    log(`redis: drain of a ${cfg.backlog}-message backlog…`);
    const drainParams = params(servers[0]!, `${runPrefix}drain:`, cfg.backlog);
    await runChild("redis-fill", drainParams, timeoutMs);
    const drain = await runChild<DrainResult>("redis-drain", drainParams, timeoutMs);
    const d = emptyRow("redis", `drain a ${cfg.backlog}-message backlog (RSS)`);
    d.msgs_per_s = drain.drainPerS;
    d.rss_mb = drain.peakMb;
    d.notes = drainNotes(drain);
    rows.push(d);
    return { rows, summary: [drainSummary("redis", drain)] };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await durable?.stop();
  }
}

function params(server: Server, prefix: string, messages: number): RedisParams {
  return { url: urlOf(server.address), prefix, messages, publishers: PUBLISHERS, batch: BATCH, prefetch: PREFETCH };
}

/** Publish, consume and latency rows on one server. */
async function serverRows(cfg: Config, server: Server, prefix: string, log: (line: string) => void, timeoutMs: number): Promise<Row[]> {
  const raw: ThroughputResult[] = [];
  const mis: ThroughputResult[] = [];
  const peer: ThroughputResult[] = [];
  for (let round = 1; round <= cfg.runs; round++) {
    raw.push(await runChild<ThroughputResult>("redis-raw", params(server, `${prefix}raw${round}:`, cfg.messages), timeoutMs));
    mis.push(await runChild<ThroughputResult>("redis-missive", params(server, `${prefix}missive${round}:`, cfg.messages), timeoutMs));
    if (cfg.peer) peer.push(asThroughput(await runChild<PeerThroughput>("bullmq-throughput", { redis: server.address, messages: cfg.messages, publishers: PUBLISHERS }, timeoutMs)));
    const [w, m, b] = [raw[round - 1]!, mis[round - 1]!, peer[round - 1]];
    log(`redis (${server.label}) round ${round}: publish missive ${m.publish} raw ${w.publish}${b ? ` bullmq ${b.publish}` : ""}; consume missive ${m.consume} raw ${w.consume}${b ? ` bullmq ${b.consume}` : ""} msg/s`);
  }
  if (!cfg.peer) log("BullMQ peer skipped: --no-peer given");
  const row = (name: string, phase: Phase, peerLabel: string): Row => {
    const out = throughputRow("redis", name, raw, mis, phase);
    if (peer.length > 0) addPeer(out, mis, peer, phase, peerLabel);
    return out;
  };
  const rows = [
    row(`publish (${server.label}), ${PUBLISHERS} concurrent publishers / XADD pipelines of ${BATCH}`, "publish", `BullMQ Queue.add, ${PUBLISHERS} concurrent callers`),
    row(`consume+ack (${server.label}), prefetch ${PREFETCH}, concurrency ${PREFETCH} / XREADGROUP COUNT ${PREFETCH} + XACK`, "consume", "BullMQ Worker, concurrency 50"),
  ];

  log(`redis (${server.label}): publish→handler latency at ${cfg.rate} msg/s…`);
  const latency: RedisLatencyParams = { url: urlOf(server.address), prefix: `${prefix}latency:`, publishers: PUBLISHERS, prefetch: PREFETCH, rate: cfg.rate, seconds: cfg.seconds };
  const rawLat = await runChild<LatencyResult>("redis-latency-raw", { ...latency, prefix: `${prefix}rawlatency:` }, timeoutMs);
  const lat = await runChild<LatencyResult>("redis-latency", latency, timeoutMs);
  const peerLat = cfg.peer ? await runChild<{ p50: number; p99: number; max: number }>("bullmq-latency", { redis: server.address, rate: cfg.rate, seconds: cfg.seconds }, timeoutMs) : undefined;
  const l = emptyRow("redis", `publish→handler latency (${server.label}) at ${cfg.rate} msg/s for ${cfg.seconds} s`);
  l.msgs_per_s = lat.handledPerS;
  l.raw_msgs_per_s = rawLat.handledPerS;
  l.p50_ms = lat.p50;
  l.p99_ms = lat.p99;
  l.rss_mb = lat.rssMb;
  log(`redis (${server.label}) latency p50/p99: missive ${lat.p50}/${lat.p99} ms, raw ${rawLat.p50}/${rawLat.p99} ms`);
  l.notes = {
    max_ms: lat.max, samples: lat.count, raw_p50_ms: rawLat.p50, raw_p99_ms: rawLat.p99, raw_max_ms: rawLat.max, raw_rss_mb: rawLat.rssMb,
    // Issue 17: missive's p99 no more than 1 ms above raw ioredis's.
    p99_within_1ms_of_raw: lat.p99 <= rawLat.p99 + P99_SLACK_MS,
  };
  if (peerLat) {
    l.peer = "BullMQ Queue.add → Worker (concurrency 50)";
    l.peer_p50_ms = peerLat.p50;
    l.peer_p99_ms = peerLat.p99;
    l.notes["peer_max_ms"] = peerLat.max;
  }
  rows.push(l);
  return rows;
}

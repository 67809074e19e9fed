/**
 * The NATS JetStream rows of `npm run bench`: missive on natsTransport against
 * the raw @nats-io client doing the same durable work, in the same rounds;
 * publish→handler latency at the fixed rate for both; then RSS through a
 * drain. On the shared server (127.0.0.1:4222, `MISSIVE_BENCH_NATS`), every
 * case under a stream prefix of the run's own; whatever is left under it is
 * deleted at the end, also on failure or SIGINT/SIGTERM. When the server is
 * unreachable the rows are skipped and said so.
 */
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { encodeToken } from "../src/transports/nats/names.js";
import type { NatsLatencyParams, NatsParams } from "./cases/nats.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./cases/sqlite.js";
import type { BenchConfig } from "./lib/args.js";
import { runChild } from "./lib/child.js";
import { drainNotes, drainSummary } from "./lib/drain.js";
import { P99_SLACK_MS } from "./lib/latency.js";
import { emptyRow, type Row } from "./lib/results.js";
import { throughputRow } from "./lib/throughput-row.js";

const SERVER = process.env["MISSIVE_BENCH_NATS"] ?? "127.0.0.1:4222";
/** Outstanding PubAcks of the raw publisher: missive's default publishWindow, and its concurrent publishers. */
const WINDOW = 256;
/** Messages pulled at a time by the raw consumer; missive's prefetch and concurrency. */
const PREFETCH = 256;

type Config = Pick<BenchConfig, "messages" | "runs" | "backlog" | "rate" | "seconds">;

/** Why the server cannot be used, or undefined when it answers. */
async function natsMissing(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: [SERVER], timeout: 2000, reconnect: false });
    await nc.close();
    return undefined;
  } catch (err) {
    return `nats-server at ${SERVER} is unreachable (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Delete every stream under the run's prefix (each case's own prefix starts with it). */
async function removeRunStreams(runPrefix: string): Promise<void> {
  const start = `${encodeToken(runPrefix).toUpperCase()}-`;
  const nc = await connect({ servers: [SERVER] });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of await jsm.streams.names().next()) {
      if (name.startsWith(start)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

export async function natsRows(cfg: Config, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const missing = await natsMissing();
  if (missing) {
    log(`NATS cases skipped: ${missing}`);
    return { rows: [], summary: [] };
  }
  const runPrefix = `missive-bench-${randomBytes(4).toString("hex")}`;
  const cleanUp = (): Promise<void> =>
    removeRunStreams(runPrefix).catch((err: unknown) => log(`nats: removing the run's streams (${runPrefix}-*) failed: ${err instanceof Error ? err.message : String(err)}`));
  // An interrupted run must not leave its backlog on the shared server.
  const onSignal = (signal: NodeJS.Signals): void => void cleanUp().finally(() => process.kill(process.pid, signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await measure(cfg, runPrefix, log, timeoutMs);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanUp();
  }
}

async function measure(cfg: Config, runPrefix: string, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const params = (side: string, messages: number): NatsParams => ({ server: SERVER, prefix: `${runPrefix}-${side}`, messages, window: WINDOW, prefetch: PREFETCH });
  const raw: ThroughputResult[] = [];
  const mis: ThroughputResult[] = [];
  for (let round = 1; round <= cfg.runs; round++) {
    raw.push(await runChild<ThroughputResult>("nats-raw", params(`raw-r${round}`, cfg.messages), timeoutMs));
    mis.push(await runChild<ThroughputResult>("nats-missive", params(`missive-r${round}`, cfg.messages), timeoutMs));
    const [w, m] = [raw[round - 1]!, mis[round - 1]!];
    log(`nats round ${round}: publish missive ${m.publish} raw ${w.publish}; consume missive ${m.consume} raw ${w.consume} msg/s`);
  }

  log(`nats: publish→handler latency at ${cfg.rate} msg/s…`);
  const latency = (side: string): NatsLatencyParams => ({ server: SERVER, prefix: `${runPrefix}-${side}`, window: WINDOW, prefetch: PREFETCH, rate: cfg.rate, seconds: cfg.seconds });
  const rawLat = await runChild<LatencyResult>("nats-latency-raw", latency("raw-latency"), timeoutMs);
  const misLat = await runChild<LatencyResult>("nats-latency-missive", latency("missive-latency"), timeoutMs);

  log(`nats: drain of a ${cfg.backlog}-message backlog…`);
  await runChild("nats-fill", params("drain", cfg.backlog), timeoutMs);
  const drain = await runChild<DrainResult>("nats-drain", params("drain", cfg.backlog), timeoutMs);

  const rows = [
    throughputRow("nats", `publish, PubAcks, window ${WINDOW} / ${WINDOW} concurrent publishers`, raw, mis, "publish"),
    throughputRow("nats", `consume+ack, durable pull consumer, prefetch ${PREFETCH}, concurrency ${PREFETCH}`, raw, mis, "consume"),
  ];
  const l = emptyRow("nats", `publish→handler latency at ${cfg.rate} msg/s for ${cfg.seconds} s`);
  l.msgs_per_s = misLat.handledPerS;
  l.raw_msgs_per_s = rawLat.handledPerS;
  l.p50_ms = misLat.p50;
  l.p99_ms = misLat.p99;
  l.rss_mb = misLat.rssMb;
  l.notes = {
    max_ms: misLat.max, samples: misLat.count, raw_p50_ms: rawLat.p50, raw_p99_ms: rawLat.p99, raw_max_ms: rawLat.max, raw_rss_mb: rawLat.rssMb,
    // Issue 16: missive's p99 no more than 1 ms above the raw client's.
    p99_within_1ms_of_raw: misLat.p99 <= rawLat.p99 + P99_SLACK_MS,
  };
  rows.push(l);
  const d = emptyRow("nats", `drain a ${cfg.backlog}-message backlog (RSS)`);
  d.msgs_per_s = drain.drainPerS;
  d.rss_mb = drain.peakMb;
  d.notes = drainNotes(drain);
  rows.push(d);
  const summary = [
    `nats latency p50/p99: missive ${misLat.p50}/${misLat.p99} ms, raw ${rawLat.p50}/${rawLat.p99} ms`,
    drainSummary("nats", drain),
  ];
  return { rows, summary };
}

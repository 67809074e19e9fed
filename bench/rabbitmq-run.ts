/**
 * The RabbitMQ rows of `npm run bench`: missive on rabbitmqTransport against
 * raw amqplib doing the same durable work and against rascal, in the same
 * rounds, for classic and quorum queues; then RSS through a drain. The shared
 * broker (127.0.0.1:5672) gets a vhost of this run's own, deleted at the end
 * whatever happens (also on SIGINT/SIGTERM); when the broker is unreachable
 * the rows are skipped and said so.
 */
import type { RabbitmqQueueType } from "../src/transports/rabbitmq/index.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../test/support/rabbitmq.js";
import type { RabbitParams } from "./cases/rabbitmq.js";
import type { DrainResult, ThroughputResult } from "./cases/sqlite.js";
import { runChild } from "./lib/child.js";
import { emptyRow, median, ratios, roundInt, type Row } from "./lib/results.js";

export interface RabbitBenchConfig {
  readonly messages: number;
  readonly runs: number;
  readonly backlog: number;
  /** Run rascal (off with --no-peer). */
  readonly peer: boolean;
  readonly quick: boolean;
}

/** The raw client's outstanding confirms; missive's publishWindow and missive's and rascal's concurrent publishers match it. */
const WINDOW = 1000;
const PREFETCH = 100;
/** Pause between a side's publish and consume phases (none with --quick: the smoke test checks plumbing, not figures). */
const SETTLE_MS = 1000;
const QUEUE_TYPES: readonly RabbitmqQueueType[] = ["classic", "quorum"];

interface Rounds {
  raw: ThroughputResult[];
  mis: ThroughputResult[];
  peer: ThroughputResult[];
}

export async function rabbitmqRows(cfg: RabbitBenchConfig, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const missing = await rabbitmqMissing();
  if (missing) {
    log(`RabbitMQ cases skipped: ${missing}`);
    return { rows: [], summary: [] };
  }
  let vhost: TestVhost;
  try {
    vhost = await createVhost("bench");
  } catch (err) {
    log(`RabbitMQ cases skipped: cannot create a vhost (${err instanceof Error ? err.message : String(err)})`);
    return { rows: [], summary: [] };
  }
  // Interrupted runs must not leave their backlog on the shared broker.
  const onSignal = (signal: NodeJS.Signals): void => void vhost.remove().finally(() => process.kill(process.pid, signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await measure(cfg, vhost.url, log, timeoutMs);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await vhost.remove();
  }
}

async function measure(cfg: RabbitBenchConfig, url: string, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const byType = new Map<RabbitmqQueueType, Rounds>();
  for (const queueType of QUEUE_TYPES) {
    const r: Rounds = { raw: [], mis: [], peer: [] };
    byType.set(queueType, r);
    for (let round = 1; round <= cfg.runs; round++) {
      const params = (side: string): RabbitParams => ({ url, queueType, messages: cfg.messages, queue: `${side}-${queueType}-r${round}`, window: WINDOW, publishers: WINDOW, prefetch: PREFETCH, settleMs: cfg.quick ? 0 : SETTLE_MS });
      r.raw.push(await runChild<ThroughputResult>("rabbitmq-raw", params("raw"), timeoutMs));
      r.mis.push(await runChild<ThroughputResult>("rabbitmq-missive", params("missive"), timeoutMs));
      if (cfg.peer) r.peer.push(await runChild<ThroughputResult>("rascal-throughput", params("rascal"), timeoutMs));
      const [w, m, p] = [r.raw[round - 1]!, r.mis[round - 1]!, r.peer[round - 1]];
      log(`rabbitmq ${queueType} round ${round}: publish missive ${m.publish} raw ${w.publish}${p ? ` rascal ${p.publish}` : ""}; consume missive ${m.consume} raw ${w.consume}${p ? ` rascal ${p.consume}` : ""} msg/s`);
    }
  }
  if (!cfg.peer) log("rascal peer skipped: --no-peer given");

  log(`rabbitmq: drain of a ${cfg.backlog}-message backlog…`);
  const drainParams: RabbitParams = { url, queueType: "quorum", messages: cfg.backlog, queue: "drain", window: WINDOW, publishers: WINDOW, prefetch: PREFETCH, settleMs: 0 };
  await runChild("rabbitmq-fill", drainParams, timeoutMs);
  const drain = await runChild<DrainResult>("rabbitmq-drain", drainParams, timeoutMs);

  const rows: Row[] = [];
  for (const [queueType, r] of byType) {
    rows.push(row(`publish (${queueType} queue), confirms, window ${WINDOW} / ${WINDOW} concurrent publishers`, queueType, r, "publish"));
  }
  for (const [queueType, r] of byType) {
    rows.push(row(`consume+ack (${queueType} queue), prefetch ${PREFETCH}, concurrency ${PREFETCH}`, queueType, r, "consume"));
  }
  const d = emptyRow("rabbitmq", `drain a ${cfg.backlog}-message backlog (quorum queue, RSS)`);
  d.msgs_per_s = drain.drainPerS;
  d.rss_mb = drain.peakMb;
  d.notes = {
    rss_start_mb: drain.startMb,
    rss_at_20pct_mb: drain.at20Mb,
    rss_at_90pct_mb: drain.at90Mb,
    rss_growth_20_to_90pct_mb: drain.growthMb,
    // Flat: the same rule as the SQLite drain row.
    rss_flat: drain.growthMb <= Math.max(16, drain.at20Mb * 0.1),
  };
  rows.push(d);
  const summary = [
    `rabbitmq drain RSS: start ${drain.startMb} MB, at 20% ${drain.at20Mb} MB, at 90% ${drain.at90Mb} MB (growth ${drain.growthMb} MB), peak ${drain.peakMb} MB`,
  ];
  return { rows, summary };
}

/** One throughput row: missive vs raw amqplib and vs rascal, ratios taken within each round. */
function row(name: string, queueType: RabbitmqQueueType, r: Rounds, phase: "publish" | "consume"): Row {
  const rate = (t: ThroughputResult): number => (phase === "publish" ? t.publish : t.consume);
  const rss = (t: ThroughputResult): number => (phase === "publish" ? t.publishRssMb : t.consumeRssMb);
  const cpu = (t: ThroughputResult): number => (phase === "publish" ? t.publishCpuUsPerMsg : t.consumeCpuUsPerMsg);
  const out = emptyRow("rabbitmq", name);
  const m = r.mis.map(rate);
  const w = r.raw.map(rate);
  out.msgs_per_s = roundInt(median(m));
  out.raw_msgs_per_s = roundInt(median(w));
  out.runs = { msgs_per_s: m, raw_msgs_per_s: w, ratio: ratios(m, w) };
  out.ratio = median(out.runs["ratio"]!);
  out.rss_mb = Math.max(...r.mis.map(rss));
  out.notes = {
    queue_type: queueType,
    cpu_us_per_msg: median(r.mis.map(cpu)),
    raw_cpu_us_per_msg: median(r.raw.map(cpu)),
    raw_rss_mb: Math.max(...r.raw.map(rss)),
  };
  if (r.peer.length > 0) {
    const p = r.peer.map(rate);
    out.peer = phase === "publish" ? `rascal broker.publish awaiting its confirm, ${WINDOW} concurrent callers` : `rascal subscription, prefetch ${PREFETCH}`;
    out.peer_msgs_per_s = roundInt(median(p));
    out.runs["peer_msgs_per_s"] = p;
    out.runs["peer_ratio"] = ratios(m, p);
    out.peer_ratio = median(out.runs["peer_ratio"]);
    out.notes["peer_cpu_us_per_msg"] = median(r.peer.map(cpu));
    out.notes["peer_rss_mb"] = Math.max(...r.peer.map(rss));
  }
  return out;
}

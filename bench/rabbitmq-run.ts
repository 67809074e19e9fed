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
import { drainNotes, drainSummary } from "./lib/drain.js";
import { emptyRow, type Row } from "./lib/results.js";
import { addPeer, throughputRow, type Phase } from "./lib/throughput-row.js";

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
  d.notes = drainNotes(drain);
  rows.push(d);
  const summary = [drainSummary("rabbitmq", drain)];
  return { rows, summary };
}

/** One throughput row: missive vs raw amqplib and vs rascal, ratios taken within each round. */
function row(name: string, queueType: RabbitmqQueueType, r: Rounds, phase: Phase): Row {
  const out = throughputRow("rabbitmq", name, r.raw, r.mis, phase);
  out.notes = { queue_type: queueType, ...out.notes };
  if (r.peer.length > 0) addPeer(out, r.mis, r.peer, phase, phase === "publish" ? `rascal broker.publish awaiting its confirm, ${WINDOW} concurrent callers` : `rascal subscription, prefetch ${PREFETCH}`);
  return out;
}

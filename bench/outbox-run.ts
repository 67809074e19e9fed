/**
 * The outbox rows of `npm run bench`: the outbox path (business write +
 * outbox.add in one transaction, a relay publishing to the SQLite transport,
 * then to RabbitMQ) against naive "insert then publish" code, in the same
 * rounds, and the relay's lag. Each business transaction is a durable commit,
 * so the counts are a fifth of the throughput cases' (at least 100). The
 * RabbitMQ row runs in a vhost of its own, deleted at the end whatever
 * happens; when the broker is unreachable it is skipped and said so.
 */
import { createVhost, rabbitmqMissing, type TestVhost } from "../test/support/rabbitmq.js";
import type { OutboxBenchParams, OutboxBenchResult } from "./outbox-cases.js";
import { runChild } from "./lib/child.js";
import { emptyRow, median, ratios, roundInt, type Row } from "./lib/results.js";

export interface OutboxBenchConfig {
  readonly messages: number;
  readonly runs: number;
  readonly publishers: number;
}

type Broker = Pick<OutboxBenchParams, "url" | "group">;

/** The SQLite-transport outbox row. */
export function outboxRows(
  cfg: OutboxBenchConfig,
  inTempDir: <T>(fn: (dir: string) => Promise<T>) => Promise<T>,
  log: (line: string) => void,
  timeoutMs: number,
): Promise<Row[]> {
  return measure("sqlite", () => ({}), cfg, inTempDir, log, timeoutMs);
}

/** The RabbitMQ outbox row (none when the broker is unreachable, said in the log). */
export async function outboxRabbitmqRows(
  cfg: OutboxBenchConfig,
  inTempDir: <T>(fn: (dir: string) => Promise<T>) => Promise<T>,
  log: (line: string) => void,
  timeoutMs: number,
): Promise<Row[]> {
  const missing = await rabbitmqMissing();
  if (missing) {
    log(`RabbitMQ outbox cases skipped: ${missing}`);
    return [];
  }
  let vhost: TestVhost;
  try {
    vhost = await createVhost("bench-outbox");
  } catch (err) {
    log(`RabbitMQ outbox cases skipped: cannot create a vhost (${err instanceof Error ? err.message : String(err)})`);
    return [];
  }
  // An interrupted run must not leave its queues on the shared broker.
  const onSignal = (signal: NodeJS.Signals): void => void vhost.remove().finally(() => process.kill(process.pid, signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // A queue per case and round, so no case publishes into another's backlog.
    return await measure("rabbitmq", (side, round) => ({ url: vhost.url, group: `outbox-${side}-r${round}` }), cfg, inTempDir, log, timeoutMs);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await vhost.remove();
  }
}

async function measure(
  transport: "sqlite" | "rabbitmq",
  brokerFor: (side: "naive" | "relay", round: number) => Broker,
  cfg: OutboxBenchConfig,
  inTempDir: <T>(fn: (dir: string) => Promise<T>) => Promise<T>,
  log: (line: string) => void,
  timeoutMs: number,
): Promise<Row[]> {
  const messages = Math.max(100, Math.round(cfg.messages / 5));
  const naive: OutboxBenchResult[] = [];
  const outbox: OutboxBenchResult[] = [];
  for (let round = 1; round <= cfg.runs; round++) {
    const params = { messages, writers: cfg.publishers };
    naive.push(await inTempDir((dir) => runChild<OutboxBenchResult>("outbox-naive", { ...params, ...brokerFor("naive", round), dir }, timeoutMs)));
    outbox.push(await inTempDir((dir) => runChild<OutboxBenchResult>("outbox-relay", { ...params, ...brokerFor("relay", round), dir }, timeoutMs)));
    const o = outbox[round - 1]!;
    log(`${transport} outbox round ${round}: outbox ${o.perS} naive ${naive[round - 1]!.perS} msg/s; relay lag p99 ${o.lagP99} ms`);
  }
  const r = emptyRow(transport, `outbox: write + outbox.add, relay to the transport (${messages} msgs, ${cfg.publishers} writers) vs insert-then-publish`);
  const o = outbox.map((x) => x.perS);
  const n = naive.map((x) => x.perS);
  r.msgs_per_s = roundInt(median(o));
  r.raw_msgs_per_s = roundInt(median(n));
  r.runs = { msgs_per_s: o, raw_msgs_per_s: n, ratio: ratios(o, n), lag_p99_ms: outbox.map((x) => x.lagP99 ?? Number.NaN) };
  r.ratio = median(r.runs["ratio"]!);
  r.p50_ms = median(outbox.map((x) => x.lagP50 ?? Number.NaN));
  r.p99_ms = median(outbox.map((x) => x.lagP99 ?? Number.NaN));
  r.rss_mb = Math.max(...outbox.map((x) => x.rssMb));
  r.notes = {
    baseline: "raw_msgs_per_s is naive code: commit the business write, then await bus.publish (loses the message on a crash in between)",
    p50_p99: "relay lag: the message's ce-time (set at outbox.add) to the transport's confirm",
    lag_max_ms: Math.max(...outbox.map((x) => x.lagMax ?? 0)),
    naive_rss_mb: Math.max(...naive.map((x) => x.rssMb)),
  };
  return [r];
}

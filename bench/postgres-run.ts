/**
 * The PostgreSQL rows of `npm run bench`: missive on postgresTransport against
 * raw node-postgres doing the same durable work and against two peers, pg-boss
 * and BullMQ's PostgreSQL backend (`bullmq-pg` in the rows' `more_peers`), in
 * the same rounds; publish→handler latency at the fixed rate (missive and both
 * peers); RSS through a drain; and `publishIn` in the caller's transaction
 * against a plain INSERT in the same transactions. On the shared server
 * (`MISSIVE_BENCH_PG_URL`, else `MISSIVE_PG_URL`, else 127.0.0.1:5432/test)
 * in a schema of the run's own, dropped at the end (the peers' schemas, named
 * after it, too), also on failure or SIGINT/SIGTERM. When the server is
 * unreachable the rows are skipped and said so; `--no-peer` leaves the peers out.
 */
import { randomBytes } from "node:crypto";
import type { PgLatencyParams, PgParams } from "./cases/postgres.js";
import type { ChurnParams, ChurnResult } from "./cases/postgres-churn.js";
import { mb } from "./cases/postgres-churn.js";
import type { NotifyParams, NotifyResult } from "./cases/postgres-notify.js";
import type { TxPublishParams, TxPublishResult } from "./cases/postgres-tx.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./cases/sqlite.js";
import type { BenchConfig } from "./lib/args.js";
import { runChild } from "./lib/child.js";
import { drainNotes, drainSummary } from "./lib/drain.js";
import { createSchema, dropSchemas, PG_BENCH_URL, postgresMissing, urlInSchema } from "./lib/pg-schema.js";
import { emptyRow, median, morePeer, morePeerKey, ratios, roundInt, type Row } from "./lib/results.js";
import { addMorePeer, addPeer, throughputRow, type Phase } from "./lib/throughput-row.js";

/** Concurrent missive publishers, pg-boss senders and BullMQ adders, as the SQLite rows. */
const PUBLISHERS = 64;
/** Rows per raw INSERT and claim, jobs per pg-boss fetch. */
const BATCH = 64;
/** missive's consumer and BullMQ's Worker. */
const CONCURRENCY = 64;
const PREFETCH = 256;
/** Concurrent transactions of the transactional-publish row (bench/postgres-tx-publish.ts's default). */
const TX_CONCURRENCY = 8;
/**
 * Concurrent single-message transactions of the NOTIFY rows. Each is a connection of the shared server
 * (max_connections 100 there, other runs share it), so 32 rather than 64.
 */
const NOTIFY_PUBLISHERS = [1, 16, 32] as const;

/**
 * The churn row: messages through one queue on a server of its own, then the table's size, again after a settle
 * (autovacuum's naptime is a minute by default). `--quick` shrinks it to a smoke run.
 */
const CHURN: ChurnParams = { messages: 1_000_000, batch: 500, backlog: 20_000, settleMs: 60_000 };
const QUICK_CHURN: ChurnParams = { messages: 5_000, batch: 500, backlog: 2_000, settleMs: 0 };

/** The peers commit each `send` / `add` on its own: on a disk with slow fsyncs a publish phase alone can take minutes. */
const PEER_TIMEOUT_FACTOR = 3;

type Config = Pick<BenchConfig, "messages" | "runs" | "backlog" | "rate" | "seconds" | "peer" | "quick">;

/** BullMQ's PostgreSQL backend: its name in the rows (`more_peers`, `missive/bullmq-pg`, `bullmq_pg_…` keys). */
const BULLMQ_PG = "bullmq-pg";
/**
 * Messages per BullMQ (PostgreSQL) throughput round, at most: it adds a few hundred jobs a second here, so 50,000 a
 * round would add ten minutes to a full run. Its rate at 10,000 is its rate: the ratio compares rates.
 */
const BULLMQ_PG_MAX_MESSAGES = 10_000;

interface Rounds {
  raw: ThroughputResult[];
  mis: ThroughputResult[];
  peer: ThroughputResult[];
  bullmqPg: ThroughputResult[];
  plainTx: TxPublishResult[];
  publishInTx: TxPublishResult[];
}

export async function postgresRows(cfg: Config, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const missing = await postgresMissing(PG_BENCH_URL);
  if (missing) {
    log(`PostgreSQL cases skipped: ${missing}`);
    return { rows: [], summary: [] };
  }
  const schema = `missive_bench_${randomBytes(4).toString("hex")}`;
  try {
    await createSchema(PG_BENCH_URL, schema);
  } catch (err) {
    log(`PostgreSQL cases skipped: cannot create a schema (${err instanceof Error ? err.message : String(err)})`);
    return { rows: [], summary: [] };
  }
  const cleanUp = (): Promise<void> =>
    dropSchemas(PG_BENCH_URL, schema).catch((err: unknown) => log(`postgres: dropping the run's schema ${schema} failed: ${err instanceof Error ? err.message : String(err)}`));
  // An interrupted run must not leave its tables on the shared server.
  const onSignal = (signal: NodeJS.Signals): void => void cleanUp().finally(() => process.kill(process.pid, signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await measure(cfg, schema, log, timeoutMs);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanUp();
  }
}

async function measure(cfg: Config, schema: string, log: (line: string) => void, timeoutMs: number): Promise<{ rows: Row[]; summary: string[] }> {
  const url = urlInSchema(PG_BENCH_URL, schema);
  const params = (prefix: string, messages: number): PgParams => ({ url, schema, prefix, messages, publishers: PUBLISHERS, batch: BATCH, concurrency: CONCURRENCY, prefetch: PREFETCH });
  // Each transaction is a durable commit: a fifth of --messages, as the outbox rows.
  const transactions = Math.max(1, Math.floor(cfg.messages / 5));
  const tx = (prefix: string, mode: TxPublishParams["mode"]): TxPublishParams => ({ url, prefix, transactions, concurrency: TX_CONCURRENCY, notify: true, keyed: true, mode });
  const r: Rounds = { raw: [], mis: [], peer: [], bullmqPg: [], plainTx: [], publishInTx: [] };
  for (let round = 1; round <= cfg.runs; round++) {
    r.raw.push(await runChild<ThroughputResult>("postgres-raw", params(`raw_r${round}_`, cfg.messages), timeoutMs));
    r.mis.push(await runChild<ThroughputResult>("postgres-missive", params(`missive_r${round}_`, cfg.messages), timeoutMs));
    if (cfg.peer) r.peer.push(await runChild<ThroughputResult>("pgboss-throughput", params(`peer_r${round}_`, cfg.messages), timeoutMs * PEER_TIMEOUT_FACTOR));
    if (cfg.peer) r.bullmqPg.push(await runChild<ThroughputResult>("bullmq-pg-throughput", params(`bullmq_r${round}_`, Math.min(cfg.messages, BULLMQ_PG_MAX_MESSAGES)), timeoutMs * PEER_TIMEOUT_FACTOR));
    r.plainTx.push(await runChild<TxPublishResult>("postgres-tx", tx(`plain_r${round}_`, "plain"), timeoutMs));
    r.publishInTx.push(await runChild<TxPublishResult>("postgres-tx", tx(`txmissive_r${round}_`, "publishIn"), timeoutMs));
    const [w, m, p, b] = [r.raw[round - 1]!, r.mis[round - 1]!, r.peer[round - 1], r.bullmqPg[round - 1]];
    log(
      `postgres round ${round}: publish missive ${m.publish} raw ${w.publish}${p ? ` pg-boss ${p.publish}` : ""}${b ? ` ${BULLMQ_PG} ${b.publish}` : ""}; ` +
        `consume missive ${m.consume} raw ${w.consume}${p ? ` pg-boss ${p.consume}` : ""}${b ? ` ${BULLMQ_PG} ${b.consume}` : ""} msg/s; ` +
        `transactions with publishIn ${r.publishInTx[round - 1]!.perS} with a plain INSERT ${r.plainTx[round - 1]!.perS}/s`,
    );
  }
  if (!cfg.peer) log("pg-boss and BullMQ (PostgreSQL) peers skipped: --no-peer given");

  log("postgres: NOTIFY on and off under concurrent single-message transactions…");
  const notifyRows: Row[] = [];
  for (const publishers of NOTIFY_PUBLISHERS) {
    const on: number[] = [];
    const rss: number[] = [];
    const off: number[] = [];
    for (let round = 1; round <= cfg.runs; round++) {
      const np = (notify: boolean): NotifyParams => ({ url, prefix: `notify_${notify ? "on" : "off"}_${publishers}_r${round}_`, messages: transactions, publishers, notify });
      const withNotify = await runChild<NotifyResult>("postgres-notify", np(true), timeoutMs);
      on.push(withNotify.perS);
      rss.push(withNotify.rssMb);
      off.push((await runChild<NotifyResult>("postgres-notify", np(false), timeoutMs)).perS);
    }
    notifyRows.push(notifyRow(publishers, on, off, Math.max(...rss)));
    log(`postgres NOTIFY, ${publishers} publishers: on ${on.join("/")} off ${off.join("/")} msg/s`);
  }

  log(`postgres: publish→handler latency at ${cfg.rate} msg/s…`);
  const latency = (prefix: string): PgLatencyParams => ({ ...params(prefix, 0), rate: cfg.rate, seconds: cfg.seconds });
  const lat = await runChild<LatencyResult>("postgres-latency", latency("latency_"), timeoutMs);
  const peerLat = cfg.peer ? await peerLatency("pgboss-latency", latency("peer_latency_"), timeoutMs, log) : undefined;
  const bullmqLat = cfg.peer ? await peerLatency("bullmq-pg-latency", latency("bullmq_latency_"), timeoutMs, log) : undefined;

  log(`postgres: drain of a ${cfg.backlog}-message backlog…`);
  await runChild("postgres-fill", params("drain_", cfg.backlog), timeoutMs);
  const drain = await runChild<DrainResult>("postgres-drain", params("drain_", cfg.backlog), timeoutMs);

  const churnParams = cfg.quick ? QUICK_CHURN : CHURN;
  log(`postgres: ${churnParams.messages} messages through one queue on a server of its own, then the table's size…`);
  // Its own server and its own time budget: a million messages take minutes, whatever --messages says.
  const churn = await runChild<ChurnResult>("postgres-churn", churnParams, Math.max(timeoutMs, 20 * 60_000));

  const rows = [
    row(`publish, ${PUBLISHERS} concurrent publishers`, r, "publish", `pg-boss send, ${PUBLISHERS} concurrent callers`, `BullMQ (PostgreSQL) Queue.add, ${PUBLISHERS} concurrent callers`),
    row(`consume+ack, concurrency ${CONCURRENCY}, prefetch ${PREFETCH}`, r, "consume", `pg-boss work, batchSize ${BATCH}`, `BullMQ (PostgreSQL) Worker, concurrency ${CONCURRENCY}`),
  ];
  const l = emptyRow("postgres", `publish→handler latency at ${cfg.rate} msg/s for ${cfg.seconds} s`);
  l.msgs_per_s = lat.handledPerS;
  l.p50_ms = lat.p50;
  l.p99_ms = lat.p99;
  l.rss_mb = lat.rssMb;
  l.notes = { max_ms: lat.max, samples: lat.count };
  if (peerLat) {
    l.peer = `pg-boss send → work (batchSize ${BATCH}, NOTIFY on)`;
    if (typeof peerLat === "string") l.notes["peer_latency_failed"] = peerLat;
    else {
      l.peer_p50_ms = peerLat.p50;
      l.peer_p99_ms = peerLat.p99;
      l.notes["peer_max_ms"] = peerLat.max;
    }
  }
  if (bullmqLat) {
    const b = morePeer(l, BULLMQ_PG, `BullMQ (PostgreSQL) Queue.add → Worker (concurrency ${CONCURRENCY})`);
    const key = morePeerKey(BULLMQ_PG);
    if (typeof bullmqLat === "string") l.notes[`${key}latency_failed`] = bullmqLat;
    else {
      b.peer_p50_ms = bullmqLat.p50;
      b.peer_p99_ms = bullmqLat.p99;
      l.notes[`${key}max_ms`] = bullmqLat.max;
      // Below the offered rate when BullMQ cannot keep up: its p50/p99 then measure a growing queue.
      l.notes[`${key}handled_per_s`] = bullmqLat.handledPerS;
    }
  }
  rows.push(l);
  const d = emptyRow("postgres", `drain a ${cfg.backlog}-message backlog (RSS)`);
  d.msgs_per_s = drain.drainPerS;
  d.rss_mb = drain.peakMb;
  d.notes = drainNotes(drain);
  rows.push(d);
  rows.push(txRow(`transactional publish: order INSERT + publishIn in one transaction, ${TX_CONCURRENCY} concurrent`, r));
  rows.push(...notifyRows);
  rows.push(churnRow(churn, churnParams));
  const summary = [drainSummary("postgres", drain)];
  return { rows, summary };
}

/**
 * A peer's latency case, or why it failed. A peer that cannot deliver the offered rate (its backlog not handled
 * within the case's wait) fails its case; that is logged and kept in the latency row's notes, with the peer's
 * percentiles left empty, rather than failing every PostgreSQL row.
 */
async function peerLatency(name: string, params: PgLatencyParams, timeoutMs: number, log: (line: string) => void): Promise<LatencyResult | string> {
  try {
    return await runChild<LatencyResult>(name, params, timeoutMs);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
    log(`postgres: ${reason}`);
    return reason;
  }
}

/** One throughput row: missive vs raw node-postgres, vs pg-boss and vs BullMQ's PostgreSQL backend, ratios taken within each round. */
function row(name: string, r: Rounds, phase: Phase, peerLabel: string, bullmqLabel: string): Row {
  const out = throughputRow("postgres", name, r.raw, r.mis, phase);
  if (r.peer.length > 0) addPeer(out, r.mis, r.peer, phase, peerLabel);
  if (r.bullmqPg.length > 0) addMorePeer(out, r.mis, r.bullmqPg, phase, BULLMQ_PG, bullmqLabel);
  return out;
}

/** Transactions per second with publishIn ("missive") against a plain INSERT ("raw"), in the same rounds. */
function txRow(name: string, r: Rounds): Row {
  const out = emptyRow("postgres", name);
  const m = r.publishInTx.map((x) => x.perS);
  const w = r.plainTx.map((x) => x.perS);
  out.msgs_per_s = roundInt(median(m));
  out.raw_msgs_per_s = roundInt(median(w));
  out.runs = { msgs_per_s: m, raw_msgs_per_s: w, ratio: ratios(m, w) };
  out.ratio = median(out.runs["ratio"]!);
  out.rss_mb = Math.max(...r.publishInTx.map((x) => x.rssMb));
  out.notes = {
    raw_rss_mb: Math.max(...r.plainTx.map((x) => x.rssMb)),
    cpu_us_per_msg: median(r.publishInTx.map((x) => x.cpuUsPerTx)),
    raw_cpu_us_per_msg: median(r.plainTx.map((x) => x.cpuUsPerTx)),
    keyed: true,
    notify: true,
  };
  return out;
}

/**
 * Publishing with NOTIFY on against off, `publishers` connections each committing one message per transaction:
 * msgs_per_s is NOTIFY on; notes hold NOTIFY off and on ÷ off, the median of the per-round ratios.
 */
function notifyRow(publishers: number, on: number[], off: number[], rssMb: number): Row {
  const out = emptyRow("postgres", `publish with NOTIFY on vs off, ${publishers} concurrent single-message transactions`);
  out.msgs_per_s = roundInt(median(on));
  out.rss_mb = rssMb;
  out.runs = { notify_on_msgs_per_s: on, notify_off_msgs_per_s: off, on_off_ratio: ratios(on, off) };
  out.notes = { notify_off_msgs_per_s: roundInt(median(off)), on_off_ratio: median(out.runs["on_off_ratio"]!), publishers };
  return out;
}

/** The churn: its rate and peak RSS, and the queue table's and indexes' size after the drain and after the settle. */
function churnRow(c: ChurnResult, p: ChurnParams): Row {
  const out = emptyRow("postgres", `churn: ${c.messages} messages through one queue, then its table and index size (a server of its own)`);
  out.msgs_per_s = c.perS;
  out.rss_mb = c.peakRssMb;
  out.notes = {
    table_mb_after_drain: mb(c.afterDrain.tableBytes),
    index_mb_after_drain: mb(c.afterDrain.indexBytes),
    dead_rows_after_drain: c.afterDrain.deadRows,
    settle_s: c.settleMs / 1000,
    table_mb_after_settle: mb(c.afterSettle.tableBytes),
    index_mb_after_settle: mb(c.afterSettle.indexBytes),
    dead_rows_after_settle: c.afterSettle.deadRows,
    autovacuum_runs: c.afterSettle.autovacuums,
    transport_vacuum_runs: c.afterSettle.vacuums,
    autovacuum: c.autovacuum,
    batch: p.batch,
    max_backlog: p.backlog,
    seconds: c.seconds,
  };
  return out;
}

/**
 * PostgreSQL cases on the shared server, each in a child process of its own
 * (bench/child.ts), each on tables of its own (a table prefix per case and
 * round) inside the run's schema, which the run drops at the end.
 *
 * - raw: node-postgres on missive's own queue table (made from the same
 *   schema: columns, indexes, triggers), inserting `batch` rows per INSERT
 *   (each its own commit), then claiming `batch` rows at a time with the
 *   claim missive makes (`FOR UPDATE SKIP LOCKED`, `UPDATE … RETURNING`,
 *   headers and body parsed) and deleting them in one statement.
 * - missive: the bus on postgresTransport, `publishers` concurrent callers
 *   each awaiting its publish; then a consumer (concurrency `concurrency`,
 *   prefetch `prefetch`) draining that backlog, each message validated by the
 *   bus and acked.
 * - peer: pg-boss on a schema of its own (named after the run's), its
 *   LISTEN/NOTIFY on (`useListenNotify`, a `notify` queue): `send` with
 *   `publishers` concurrent callers, then one `work` fetching `batch` jobs at
 *   a time (`burstWhenBatchFull`, the shortest poll it allows), each job
 *   completed when the handler returns.
 */
import pg from "pg";
import { PgBoss } from "pg-boss";
import { missive, type Bus } from "../../src/index.js";
import { uuidv7 } from "../../src/envelope/uuidv7.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { NOW_MS, pgTableNames, pgTransportSchema } from "../../src/transports/postgres/schema.js";
import { busLatency, consumeAll, publishConcurrently } from "../lib/bus-load.js";
import { drainResult } from "../lib/drain.js";
import { latencyRecorder, pace, pacedTotal } from "../lib/latency.js";
import { concurrentCalls, cpuUsPerMsg, measurePhase, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { BenchEvent, ceHeaders, eventData, GROUP } from "./event.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./sqlite.js";

export interface PgParams {
  /** postgres:// URL with the run's schema as search_path. */
  readonly url: string;
  /** The run's schema: pg-boss's schema is named after it, so dropping the run's takes it too. */
  readonly schema: string;
  /** This case's table prefix (pg-boss: part of its schema's name). */
  readonly prefix: string;
  readonly messages: number;
  /** Concurrent missive publishers and pg-boss senders. */
  readonly publishers: number;
  /** Rows per raw INSERT and claim; jobs per pg-boss fetch. */
  readonly batch: number;
  /** missive's consumer. */
  readonly concurrency: number;
  readonly prefetch: number;
}

/** A lease long enough for any bench batch, ms. */
const LEASE_MS = 30_000;

export async function pgRaw(p: PgParams): Promise<ThroughputResult> {
  const client = new pg.Client({ connectionString: p.url });
  await client.connect();
  try {
    for (const statement of pgTransportSchema(p.prefix)) await client.query(statement);
    const q = pgTableNames(p.prefix).queue;
    const insert = `INSERT INTO ${q} (group_name, topic, message_id, headers, body, visible_at)
                    SELECT $1, $2, id, h, b, ${NOW_MS} FROM unnest($3::text[], $4::text[], $5::bytea[]) AS m(id, h, b)`;
    const claim = `WITH picked AS (
                     SELECT seq FROM ${q} WHERE group_name = $1 AND visible_at <= ${NOW_MS}
                      ORDER BY priority DESC, visible_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
                   UPDATE ${q} SET visible_at = ${NOW_MS} + $3, lease_token = $4, attempts = ${q}.attempts + 1
                    WHERE ${q}.seq = ANY(ARRAY(SELECT seq FROM picked))
                   RETURNING ${q}.seq, ${q}.headers, ${q}.body`;
    const del = `DELETE FROM ${q} WHERE seq = ANY($1::bigint[]) AND lease_token = $2`;
    const body = Buffer.from(JSON.stringify(eventData()));

    const pubRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let done = 0; done < p.messages; done += p.batch) {
      const ids = Array.from({ length: Math.min(p.batch, p.messages - done) }, () => uuidv7());
      await client.query({ name: "raw-insert", text: insert, values: [GROUP, BenchEvent.type, ids, ids.map((id) => JSON.stringify(ceHeaders(id))), ids.map(() => body)] });
    }
    const publishMs = performance.now() - t0;
    const publishCpu = cpuUsPerMsg(cpu0, p.messages);
    pubRss.stop();

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    let n = 0;
    for (;;) {
      const token = uuidv7();
      const { rows } = await client.query<{ seq: string; headers: string; body: Buffer }>({ name: "raw-claim", text: claim, values: [GROUP, p.batch, LEASE_MS, token] });
      if (rows.length === 0) break;
      for (const r of rows) {
        JSON.parse(r.headers);
        JSON.parse(r.body.toString("utf8"));
      }
      await client.query({ name: "raw-delete", text: del, values: [rows.map((r) => r.seq), token] });
      n += rows.length;
    }
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, Math.max(1, n));
    conRss.stop();
    if (n !== p.messages) throw new Error(`raw consume drained ${n} of ${p.messages}`);
    return {
      publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
      consume: rate(n, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  } finally {
    await client.end();
  }
}

async function withBus<T>(p: Pick<PgParams, "url" | "prefix">, fn: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await missive({ transport: postgresTransport({ connectionString: p.url, tablePrefix: p.prefix }), service: "bench" });
  try {
    await bus.declare(BenchEvent, GROUP);
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

const consumerOf = (p: Pick<PgParams, "concurrency" | "prefetch">): { group: string; concurrency: number; prefetch: number } => ({ group: GROUP, concurrency: p.concurrency, prefetch: p.prefetch });

export function pgMissive(p: PgParams): Promise<ThroughputResult> {
  return withBus(p, async (bus) => {
    const pubRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await publishConcurrently(bus, p.messages, p.publishers);
    const publishMs = performance.now() - t0;
    const publishCpu = cpuUsPerMsg(cpu0, p.messages);
    pubRss.stop();

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    await consumeAll(bus, consumerOf(p), p.messages);
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, p.messages);
    conRss.stop();
    return {
      publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
      consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  });
}

export interface PgLatencyParams extends Omit<PgParams, "messages"> {
  readonly rate: number;
  readonly seconds: number;
}

export function pgLatency(p: PgLatencyParams): Promise<LatencyResult> {
  return withBus(p, (bus) => busLatency(bus, consumerOf(p), p));
}

/** Fill a backlog for pgDrain through missive (a process of its own, so the drain's RSS is the drain's). */
export async function pgFill(p: PgParams): Promise<{ published: number }> {
  await withBus(p, (bus) => publishConcurrently(bus, p.messages, p.publishers));
  return { published: p.messages };
}

/** Drain the filled backlog through missive, RSS sampled every 10 ms. */
export function pgDrain(p: PgParams): Promise<DrainResult> {
  return withBus(p, async (bus) => {
    let handled = 0;
    const rss = new RssSampler(() => handled / p.messages).start(10);
    const t0 = performance.now();
    let ms: number;
    try {
      await consumeAll(bus, consumerOf(p), p.messages, () => handled++);
      ms = performance.now() - t0;
    } finally {
      rss.stop();
    }
    return drainResult(rss, p.messages, ms);
  });
}

const BOSS_QUEUE = "bench-event";
/** pg-boss's shortest poll (it refuses less); with NOTIFY it is only the fallback. */
const BOSS_POLL_S = 0.5;

async function withBoss<T>(p: Pick<PgParams, "url" | "schema" | "prefix">, fn: (boss: PgBoss) => Promise<T>): Promise<T> {
  const boss = new PgBoss({ connectionString: p.url, schema: `${p.schema}_${p.prefix}boss`, useListenNotify: true });
  const errors: unknown[] = [];
  boss.on("error", (err: unknown) => errors.push(err));
  await boss.start();
  try {
    await boss.createQueue(BOSS_QUEUE, { notify: true });
    const out = await fn(boss);
    if (errors.length > 0) throw new Error(`pg-boss reported ${errors.length} error(s): ${String(errors[0])}`);
    return out;
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
}

/** One pg-boss worker; `onJob` for each job, resolves `done` after `total`. */
async function bossWorker(boss: PgBoss, batch: number, total: number, onJob: (data: { sentAt: number }) => void): Promise<{ done: Promise<void> }> {
  let n = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  await boss.work<{ sentAt: number }>(BOSS_QUEUE, { batchSize: batch, burstWhenBatchFull: true, pollingIntervalSeconds: BOSS_POLL_S }, async (jobs) => {
    for (const job of jobs) onJob(job.data);
    n += jobs.length;
    if (n >= total) resolve();
  });
  return { done };
}

export function pgBossThroughput(p: PgParams): Promise<ThroughputResult> {
  return withBoss(p, async (boss) => {
    const data = eventData();
    const pub = await measurePhase(p.messages, () => concurrentCalls(p.messages, p.publishers, () => boss.send(BOSS_QUEUE, data)));

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    const { done } = await bossWorker(boss, p.batch, p.messages, () => undefined);
    await done;
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, p.messages);
    conRss.stop();
    return {
      publish: rate(p.messages, pub.ms), publishRssMb: pub.rssMb, publishCpuUsPerMsg: pub.cpuUsPerMsg,
      consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  });
}

export function pgBossLatency(p: PgLatencyParams): Promise<LatencyResult> {
  return withBoss(p, async (boss) => {
    const rec = latencyRecorder();
    const total = pacedTotal(p.rate, p.seconds);
    await bossWorker(boss, p.batch, total, (data) => rec.record(data.sentAt));
    const rss = new RssSampler().start();
    const base = eventData();
    const failures: unknown[] = [];
    const t0 = performance.now();
    const { sent, measuredFrom } = await pace(p.rate, p.seconds, (sentAt) => {
      boss.send(BOSS_QUEUE, { ...base, sentAt }).catch((err: unknown) => failures.push(err));
    });
    await rec.waitFor(sent, 30_000);
    const ms = performance.now() - t0;
    rss.stop();
    if (failures.length > 0) throw new Error(`${failures.length} pg-boss sends failed: ${String(failures[0])}`);
    return { ...rec.summary(measuredFrom), handledPerS: rate(sent, ms), rssMb: rss.peakMb };
  });
}

/**
 * SQLite cases (WAL, synchronous=FULL, the transport's defaults). Each
 * function runs in a child process of its own (bench/child.ts).
 *
 * - raw: better-sqlite3 on missive's own queue table (same columns, indexes
 *   and triggers), inserting in transactions of 64 (the best 64 callers can
 *   get from a raw client), then claiming 64 rows at a time (UPDATE …
 *   RETURNING, headers and body parsed) and deleting them in a second
 *   transaction: one durable commit per 64 claims and one per 64 acks.
 * - missive: the whole bus (validation, envelope, producer batching, lanes,
 *   telemetry hooks), 64 concurrent publishers awaiting each publish, then a
 *   consumer (concurrency 64, prefetch 256) acking each message.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { missive, type Bus } from "../../src/index.js";
import { transportSchema } from "../../src/transports/sqlite/schema.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { drainResult } from "../lib/drain.js";
import { busLatency, consumeAll, publishConcurrently } from "../lib/bus-load.js";
import { cpuUsPerMsg, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { BenchEvent, eventData, GROUP } from "./event.js";

export interface ThroughputResult {
  publish: number;
  publishRssMb: number;
  publishCpuUsPerMsg: number;
  consume: number;
  consumeRssMb: number;
  consumeCpuUsPerMsg: number;
}

const CONSUMER = { group: GROUP, concurrency: 64, prefetch: 256 } as const;

export function sqliteRaw(p: { dir: string; messages: number; publishers: number }): ThroughputResult {
  const db = new Database(join(p.dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(transportSchema("missive_"));
  const insert = db.prepare(
    "INSERT INTO missive_queue (group_name, topic, message_id, key, headers, body, visible_at, attempts, enqueued_at) VALUES (?, 'bench.event', ?, NULL, ?, ?, ?, 0, ?)",
  );
  const body = Buffer.from(JSON.stringify(eventData()));
  const headersOf = (id: string): string =>
    JSON.stringify({ "ce-id": id, "ce-source": "bench", "ce-type": "bench.event", "ce-specversion": "1.0", "ce-time": new Date().toISOString(), "ce-dataschema": "bench.event/v1", "content-type": "application/json" });
  const insertMany = db.transaction((n: number) => {
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      insert.run(GROUP, id, headersOf(id), body, now, now);
    }
  });
  const claim = db.prepare(
    `UPDATE missive_queue SET visible_at = ?, lease_token = ?, attempts = attempts + 1 WHERE seq IN
       (SELECT seq FROM missive_queue WHERE group_name = ? AND blocked = 0 AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?)
     RETURNING seq, topic, message_id, key, headers, body, attempts`,
  );
  const del = db.prepare("DELETE FROM missive_queue WHERE seq = ? AND lease_token = ?");
  const claimBatch = db.transaction((token: string) => claim.all(Date.now() + 30_000, token, GROUP, Date.now(), p.publishers) as Array<{ seq: number; headers: string; body: Buffer }>);
  const ackBatch = db.transaction((seqs: number[], token: string) => {
    for (const s of seqs) del.run(s, token);
  });

  const pubRss = new RssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < p.messages; done += p.publishers) {
    insertMany(Math.min(p.publishers, p.messages - done));
    pubRss.sample();
  }
  const publishMs = performance.now() - t0;
  const publishCpu = cpuUsPerMsg(cpu0, p.messages);

  const conRss = new RssSampler();
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  let n = 0;
  for (;;) {
    const token = randomUUID();
    const batch = claimBatch(token);
    if (batch.length === 0) break;
    for (const r of batch) {
      JSON.parse(r.headers);
      JSON.parse(r.body.toString("utf8"));
    }
    ackBatch(batch.map((r) => r.seq), token);
    n += batch.length;
    conRss.sample();
  }
  const consumeMs = performance.now() - t1;
  db.close();
  if (n !== p.messages) throw new Error(`raw consume drained ${n} of ${p.messages}`);
  return {
    publish: rate(p.messages, publishMs), publishRssMb: pubRss.stop().peakMb, publishCpuUsPerMsg: publishCpu,
    consume: rate(n, consumeMs), consumeRssMb: conRss.stop().peakMb, consumeCpuUsPerMsg: cpuUsPerMsg(cpu1, n),
  };
}

async function openBus(dir: string, file: string): Promise<Bus> {
  const bus = await missive({ transport: sqliteTransport({ path: join(dir, file) }), service: "bench" });
  await bus.declare(BenchEvent, GROUP);
  return bus;
}

export async function sqliteMissive(p: { dir: string; messages: number; publishers: number }): Promise<ThroughputResult> {
  const bus = await openBus(p.dir, "missive.db");
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
  await consumeAll(bus, CONSUMER, p.messages);
  const consumeMs = performance.now() - t1;
  const consumeCpu = cpuUsPerMsg(cpu1, p.messages);
  conRss.stop();
  await bus.close();
  return {
    publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
    consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
  };
}

export interface LatencyResult {
  p50: number;
  p99: number;
  max: number;
  count: number;
  handledPerS: number;
  rssMb: number;
}

export async function sqliteLatency(p: { dir: string; rate: number; seconds: number }): Promise<LatencyResult> {
  const bus = await openBus(p.dir, "latency.db");
  try {
    return await busLatency(bus, CONSUMER, p);
  } finally {
    await bus.close();
  }
}

/** Fill a backlog for sqliteDrain (a process of its own, so the drain's RSS is the drain's). */
export async function sqliteFill(p: { dir: string; backlog: number; publishers: number }): Promise<{ published: number }> {
  const bus = await openBus(p.dir, "backlog.db");
  await publishConcurrently(bus, p.backlog, p.publishers);
  await bus.close();
  return { published: p.backlog };
}

export interface DrainResult {
  drainPerS: number;
  peakMb: number;
  startMb: number;
  at20Mb: number;
  at90Mb: number;
  growthMb: number;
  /** Mean RSS of the first and the last tenth of the drain's samples. */
  firstTenthMb: number;
  lastTenthMb: number;
  /** The heap that survived a full collection before and after the drain, MB (null when gc is not exposed). */
  heapStartMb: number | null;
  heapEndMb: number | null;
}

export async function sqliteDrain(p: { dir: string; backlog: number }): Promise<DrainResult> {
  const bus = await openBus(p.dir, "backlog.db");
  let handled = 0;
  const rss = new RssSampler(() => handled / p.backlog).start(10);
  const t0 = performance.now();
  await consumeAll(bus, CONSUMER, p.backlog, () => handled++);
  const ms = performance.now() - t0;
  rss.stop();
  await bus.close();
  return drainResult(rss, p.backlog, ms);
}

/**
 * The peer: BullMQ on the local Redis. `Queue.add` with 64 concurrent
 * callers, then a `Worker` (concurrency 50) draining the same count; and the
 * same fixed-rate latency case as missive's. Each run uses a queue name of its
 * own under the `missive-bench` prefix and obliterates it afterwards (never
 * FLUSHALL). Jobs are removed on completion, as an acked missive message is.
 * BullMQ runs on ioredis, its usual driver (a dev dependency here).
 */
import { connect } from "node:net";
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { latencyRecorder, pace, pacedTotal } from "../lib/latency.js";
import { cpuUsPerMsg } from "../lib/measure.js";
import { Redis } from "ioredis";
import { RssSampler } from "../lib/rss-sampler.js";
import { eventData } from "./event.js";

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

const PREFIX = "missive-bench";
const WORKER_CONCURRENCY = 50;

/** Why the peer cannot run here, or undefined when Redis answers. */
export function redisUnreachable(addr: RedisAddress, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: addr.host, port: addr.port });
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from Redis at ${addr.host}:${addr.port} within ${timeoutMs} ms`));
    socket.once("error", (err) => done(`Redis at ${addr.host}:${addr.port} is unreachable (${err.message})`));
    socket.once("connect", () => done(undefined));
  });
}

interface Conn {
  readonly connection: ConnectionOptions;
  readonly client: string;
  close(): Promise<void>;
}

async function connection(addr: RedisAddress): Promise<Conn> {
  // BullMQ's workers block on Redis: it requires maxRetriesPerRequest null.
  const c = new Redis({ host: addr.host, port: addr.port, maxRetriesPerRequest: null });
  return { connection: c as unknown as ConnectionOptions, client: "ioredis", close: async () => void (await c.quit()) };
}

async function persistence(addr: RedisAddress): Promise<string> {
  const c = new Redis({ host: addr.host, port: addr.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await c.connect();
    const get = async (name: string): Promise<string> => ((await c.config("GET", name)) as string[])[1] ?? "?";
    return `appendonly=${await get("appendonly")} appendfsync=${await get("appendfsync")} save="${await get("save")}"`;
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  } finally {
    c.disconnect();
  }
}

async function withQueue<T>(addr: RedisAddress, fn: (queue: Queue, name: string, conn: Conn) => Promise<T>): Promise<T> {
  const conn = await connection(addr);
  const name = `run-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection: conn.connection, prefix: PREFIX, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  try {
    return await fn(queue, name, conn);
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await conn.close();
  }
}

function drainWorker(name: string, conn: Conn, total: number, onJob: (data: { sentAt: number }) => void): { done: Promise<void>; worker: Worker } {
  let n = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const worker = new Worker(
    name,
    async (job) => {
      onJob(job.data as { sentAt: number });
      if (++n === total) resolve();
    },
    { connection: conn.connection, prefix: PREFIX, concurrency: WORKER_CONCURRENCY },
  );
  worker.on("error", () => undefined);
  return { done, worker };
}

export interface PeerThroughput {
  add: number;
  worker: number;
  addRssMb: number;
  workerRssMb: number;
  /** CPU of this process (BullMQ's client side), µs per job. */
  addCpuUsPerMsg: number;
  workerCpuUsPerMsg: number;
  client: string;
  redisPersistence: string;
}

export async function bullmqThroughput(p: { redis: RedisAddress; messages: number; publishers: number }): Promise<PeerThroughput> {
  const redisPersistence = await persistence(p.redis);
  return withQueue(p.redis, async (queue, name, conn) => {
    const data = eventData();
    const addRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    let sent = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: p.publishers }, async () => {
        while (sent < p.messages) {
          sent++;
          await queue.add("bench.event", data);
        }
      }),
    );
    const addMs = performance.now() - t0;
    const addCpu = cpuUsPerMsg(cpu0, p.messages);
    addRss.stop();
    const workerRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    const { done, worker } = drainWorker(name, conn, p.messages, () => undefined);
    await done;
    const workerMs = performance.now() - t1;
    const workerCpu = cpuUsPerMsg(cpu1, p.messages);
    workerRss.stop();
    await worker.close();
    return {
      add: Math.round(p.messages / (addMs / 1000)),
      worker: Math.round(p.messages / (workerMs / 1000)),
      addRssMb: addRss.peakMb,
      workerRssMb: workerRss.peakMb,
      addCpuUsPerMsg: addCpu,
      workerCpuUsPerMsg: workerCpu,
      client: conn.client,
      redisPersistence,
    };
  });
}

export async function bullmqLatency(p: { redis: RedisAddress; rate: number; seconds: number }): Promise<{ p50: number; p99: number; max: number; count: number }> {
  return withQueue(p.redis, async (queue, name, conn) => {
    const rec = latencyRecorder();
    const total = pacedTotal(p.rate, p.seconds);
    const { worker } = drainWorker(name, conn, total, (data) => rec.record(data.sentAt));
    await worker.waitUntilReady();
    const base = eventData();
    const failures: unknown[] = [];
    const { sent, measuredFrom } = await pace(p.rate, p.seconds, (sentAt) => {
      queue.add("bench.event", { ...base, sentAt }).catch((err: unknown) => failures.push(err));
    });
    await rec.waitFor(sent, 30_000);
    await worker.close();
    if (failures.length > 0) throw new Error(`${failures.length} adds failed: ${String(failures[0])}`);
    return rec.summary(measuredFrom);
  });
}

/**
 * The second PostgreSQL peer: BullMQ 6's PostgreSQL backend
 * (`createPostgresBackend`) on the shared server, in a schema of its own named
 * after the run's (`<run schema>_<prefix>bullmq`, made by BullMQ's own
 * migrations), so dropping the run's schemas takes it too.
 *
 * - throughput: `Queue.add` with `publishers` concurrent callers, then one
 *   `Worker` (concurrency `concurrency`, as missive's consumer) draining the
 *   same count; jobs removed on completion, as an acked missive message is.
 * - latency: the same fixed-rate publish→handler case as missive's (adds not
 *   awaited, the Worker as above); when BullMQ handles less than the offered
 *   rate its percentiles measure the queue that builds, and `handledPerS` says so.
 *
 * Each Queue and Worker builds its backend from the same connection options,
 * so each owns a node-postgres pool (default size) and the Worker a dedicated
 * LISTEN connection, as BullMQ's users get it.
 */
import { createPostgresBackend, withBackend, type PostgresPoolConfig } from "bullmq";
import { latencyRecorder, pace, pacedTotal } from "../lib/latency.js";
import { concurrentCalls, cpuUsPerMsg, measurePhase, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { eventData } from "./event.js";
import type { PgLatencyParams, PgParams } from "./postgres.js";
import type { LatencyResult, ThroughputResult } from "./sqlite.js";

const QUEUE = "bench-event";
const JOB_NAME = "bench.event";
/**
 * How long the latency case waits for the last job after the offered rate ends: at least 30 s (as the other
 * latency cases), longer for a large run, so a backlog BullMQ works through at 100 jobs/s or more still yields
 * its percentiles (with the rate it did handle) rather than a timeout.
 */
const latencyWaitMs = (jobs: number): number => Math.max(30_000, (jobs / 100) * 1000);

const bullmqPg = withBackend(createPostgresBackend);
type PgQueue = InstanceType<typeof bullmqPg.Queue>;
type PgWorker = InstanceType<typeof bullmqPg.Worker>;

/**
 * BullMQ's connection options for this case: the server of `url` without its `options` (the run's
 * search_path, which node-postgres would let override BullMQ's own), BullMQ's schema, migrated on connect.
 */
function bullmqPgConnection(p: Pick<PgParams, "url" | "schema" | "prefix">): PostgresPoolConfig {
  const server = new URL(p.url);
  server.searchParams.delete("options");
  return { connectionString: server.toString(), schema: `${p.schema}_${p.prefix}bullmq`, migrate: true };
}

async function withQueue<T>(p: Pick<PgParams, "url" | "schema" | "prefix">, fn: (queue: PgQueue, connection: PostgresPoolConfig) => Promise<T>): Promise<T> {
  const connection = bullmqPgConnection(p);
  const queue = new bullmqPg.Queue(QUEUE, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  const errors: unknown[] = [];
  queue.on("error", (err: unknown) => errors.push(err));
  await queue.waitUntilReady();
  try {
    const out = await fn(queue, connection);
    if (errors.length > 0) throw new Error(`BullMQ (PostgreSQL) queue reported ${errors.length} error(s): ${String(errors[0])}`);
    return out;
  } finally {
    await queue.close();
  }
}

interface DrainWorker {
  readonly worker: Pick<PgWorker, "close" | "waitUntilReady">;
  /** Resolves after `total` jobs, or at the first error the worker emits or job that fails (then in `errors`). */
  readonly done: Promise<void>;
  readonly errors: Error[];
}

/** One Worker, concurrency `concurrency`, calling `onJob` for each job. */
function drainWorker(connection: PostgresPoolConfig, concurrency: number, total: number, onJob: (data: { sentAt: number }) => void): DrainWorker {
  let n = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const errors: Error[] = [];
  const fail = (err: Error): void => {
    errors.push(err);
    resolve();
  };
  const worker = new bullmqPg.Worker<{ sentAt: number }>(
    QUEUE,
    async (job) => {
      onJob(job.data);
      if (++n === total) resolve();
    },
    { connection, concurrency },
  );
  worker.on("error", (err: Error) => fail(new Error(`BullMQ (PostgreSQL) worker error: ${err.message}`, { cause: err })));
  worker.on("failed", (_job, err: Error) => fail(new Error(`BullMQ (PostgreSQL) job failed: ${err.message}`, { cause: err })));
  return { worker, done, errors };
}

/** Throws the first of `errors`, if any. */
function throwFirst(errors: readonly Error[]): void {
  if (errors.length > 0) throw new Error(`${errors.length} error(s), the first: ${errors[0]!.message}`, { cause: errors[0] });
}

export function bullmqPgThroughput(p: PgParams): Promise<ThroughputResult> {
  return withQueue(p, async (queue, connection) => {
    const data = eventData();
    const pub = await measurePhase(p.messages, () => concurrentCalls(p.messages, p.publishers, () => queue.add(JOB_NAME, data)));
    const waiting = await queue.getWaitingCount();
    if (waiting !== p.messages) throw new Error(`BullMQ (PostgreSQL) holds ${waiting} waiting jobs after ${p.messages} adds`);

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    const { worker, done, errors } = drainWorker(connection, p.concurrency, p.messages, () => undefined);
    let consumeMs: number;
    let consumeCpu: number;
    try {
      await done;
      // The clock stops at the last job, before the worker's close.
      consumeMs = performance.now() - t1;
      consumeCpu = cpuUsPerMsg(cpu1, p.messages);
    } finally {
      conRss.stop();
      await worker.close();
    }
    throwFirst(errors);
    return {
      publish: rate(p.messages, pub.ms), publishRssMb: pub.rssMb, publishCpuUsPerMsg: pub.cpuUsPerMsg,
      consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  });
}

export function bullmqPgLatency(p: PgLatencyParams): Promise<LatencyResult> {
  return withQueue(p, async (queue, connection) => {
    const rec = latencyRecorder();
    const total = pacedTotal(p.rate, p.seconds);
    const { worker, done, errors } = drainWorker(connection, p.concurrency, total, (data) => rec.record(data.sentAt));
    try {
      await worker.waitUntilReady();
      const rss = new RssSampler().start();
      const base = eventData();
      const failures: unknown[] = [];
      const t0 = performance.now();
      const { sent, measuredFrom } = await pace(p.rate, p.seconds, (sentAt) => {
        queue.add(JOB_NAME, { ...base, sentAt }).catch((err: unknown) => failures.push(err));
      });
      // A worker error ends the wait at once rather than at the timeout.
      await Promise.race([rec.waitFor(sent, latencyWaitMs(sent)), done]);
      const ms = performance.now() - t0;
      rss.stop();
      throwFirst(errors);
      if (failures.length > 0) throw new Error(`${failures.length} BullMQ (PostgreSQL) adds failed: ${String(failures[0])}`);
      return { ...rec.summary(measuredFrom), handledPerS: rate(sent, ms), rssMb: rss.peakMb };
    } finally {
      await worker.close();
    }
  });
}

/**
 * RabbitMQ cases: raw amqplib and missive doing the same durable work on the
 * same broker, each in a child process of its own (bench/child.ts), each on
 * queues of its own inside the run's vhost.
 *
 * - raw: a confirm channel publishing persistent, `mandatory` messages (the
 *   same body and CloudEvents headers missive sends) to a durable fanout
 *   exchange bound to one durable queue, keeping `window` confirms
 *   outstanding (publish with a callback, refill as confirms arrive); then a
 *   second channel with prefetch 100 draining that backlog, each body parsed
 *   and each message acked.
 * - missive: the bus on rabbitmqTransport (fanout exchange per type, durable
 *   queue per group), `publishers` concurrent callers each awaiting its
 *   publish; then a consumer (concurrency and prefetch 100) draining that
 *   backlog, each message validated by the bus and acked.
 *
 * Queues are deleted when a case ends: missive's exchange is the message type
 * and fans out to every queue still bound to it.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import amqp, { type ConfirmChannel, type Options } from "amqplib";
import { missive, type Bus } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import type { RabbitmqQueueType } from "../../src/transports/rabbitmq/index.js";
import { consumeAll, publishConcurrently } from "../lib/bus-load.js";
import { drainResult } from "../lib/drain.js";
import { cpuUsPerMsg, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { BenchEvent, eventData } from "./event.js";
import type { DrainResult, ThroughputResult } from "./sqlite.js";

export interface RabbitParams {
  /** amqp:// URL of the run's vhost. */
  readonly url: string;
  readonly queueType: RabbitmqQueueType;
  readonly messages: number;
  /** Queue (and, raw, exchange) name of this case; missive's group. */
  readonly queue: string;
  /** Outstanding confirms of the raw publisher, and missive's publishWindow. */
  readonly window: number;
  /** Concurrent missive publishers, each awaiting its publish. */
  readonly publishers: number;
  /** Prefetch of every consumer, and missive's handler concurrency. */
  readonly prefetch: number;
  /**
   * Pause between the publish and the consume phase, ms: the broker goes on writing for a moment
   * after its last confirm, and that work belongs to no side's consume figure.
   */
  readonly settleMs: number;
}

/** What missive's transport writes for a bench event: persistent, mandatory, CloudEvents attributes as `cloudEvents_*`. */
function rawProperties(): Options.Publish {
  const id = randomUUID();
  return {
    persistent: true,
    mandatory: true,
    messageId: id,
    contentType: "application/json",
    timestamp: Math.floor(Date.now() / 1000),
    headers: {
      cloudEvents_id: id, cloudEvents_source: "bench", cloudEvents_type: BenchEvent.type, cloudEvents_specversion: "1.0",
      cloudEvents_time: new Date().toISOString(), cloudEvents_dataschema: `${BenchEvent.type}/v1`,
    },
  };
}

/** Publish `total` with at most `window` unconfirmed; resolves when the last confirm came. */
function publishWindowed(ch: ConfirmChannel, exchange: string, total: number, window: number, rss: RssSampler): Promise<void> {
  const body = Buffer.from(JSON.stringify(eventData()));
  return new Promise<void>((resolve, reject) => {
    let sent = 0;
    let confirmed = 0;
    const refill = (): void => {
      while (sent - confirmed < window && sent < total) {
        sent++;
        ch.publish(exchange, "", body, rawProperties(), (err: unknown) => {
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          if (++confirmed === total) resolve();
          else if (confirmed % 1000 === 0) rss.sample();
          refill();
        });
      }
    };
    refill();
  });
}

export async function rabbitRaw(p: RabbitParams): Promise<ThroughputResult> {
  const conn = await amqp.connect(p.url);
  try {
    const pub = await conn.createConfirmChannel();
    await pub.assertExchange(p.queue, "fanout", { durable: true });
    await pub.assertQueue(p.queue, { durable: true, arguments: { "x-queue-type": p.queueType } });
    await pub.bindQueue(p.queue, p.queue, "");
    const pubRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await publishWindowed(pub, p.queue, p.messages, p.window, pubRss);
    const publishMs = performance.now() - t0;
    const publishCpu = cpuUsPerMsg(cpu0, p.messages);
    pubRss.stop();
    await sleep(p.settleMs);

    const con = await conn.createChannel();
    await con.prefetch(p.prefetch);
    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    let n = 0;
    let tag = "";
    await new Promise<void>((resolve, reject) => {
      con.consume(p.queue, (msg) => {
        if (!msg) return reject(new Error("raw consumer cancelled by the broker"));
        JSON.parse(msg.content.toString("utf8"));
        con.ack(msg);
        if (++n === p.messages) resolve();
      }, { noAck: false }).then((ok) => (tag = ok.consumerTag), reject);
    });
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, n);
    conRss.stop();
    await con.cancel(tag);
    await pub.deleteQueue(p.queue);
    await pub.deleteExchange(p.queue);
    return {
      publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
      consume: rate(n, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function openBus(p: Pick<RabbitParams, "url" | "queueType" | "window" | "queue">): Promise<Bus> {
  const bus = await missive({ transport: rabbitmqTransport({ url: p.url, queueType: p.queueType, publishWindow: p.window }), service: "bench" });
  await bus.declare(BenchEvent, p.queue);
  return bus;
}

/** Delete a case's queues (missive's group and its dead-letter queue) so no later case fans out into them. */
export async function deleteQueues(url: string, queues: readonly string[]): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export async function rabbitMissive(p: RabbitParams): Promise<ThroughputResult> {
  const bus = await openBus(p);
  try {
    const pubRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await publishConcurrently(bus, p.messages, p.publishers);
    const publishMs = performance.now() - t0;
    const publishCpu = cpuUsPerMsg(cpu0, p.messages);
    pubRss.stop();
    await sleep(p.settleMs);

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    await consumeAll(bus, { group: p.queue, concurrency: p.prefetch, prefetch: p.prefetch }, p.messages);
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, p.messages);
    conRss.stop();
    return {
      publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
      consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  } finally {
    await bus.close();
    await deleteQueues(p.url, [p.queue, `${p.queue}.dlq`]);
  }
}

/** Fill a backlog for rabbitDrain through missive (a process of its own, so the drain's RSS is the drain's). */
export async function rabbitFill(p: Omit<RabbitParams, "prefetch" | "settleMs">): Promise<{ published: number }> {
  const bus = await openBus(p);
  await publishConcurrently(bus, p.messages, p.publishers);
  await bus.close();
  return { published: p.messages };
}

/** Drain the filled backlog through missive, RSS sampled every 10 ms; the queues are deleted after. */
export async function rabbitDrain(p: RabbitParams): Promise<DrainResult> {
  const bus = await openBus(p);
  let handled = 0;
  const rss = new RssSampler(() => handled / p.messages).start(10);
  const t0 = performance.now();
  let ms: number;
  try {
    await consumeAll(bus, { group: p.queue, concurrency: p.prefetch, prefetch: p.prefetch }, p.messages, () => handled++);
    ms = performance.now() - t0;
  } finally {
    rss.stop();
    await bus.close();
    await deleteQueues(p.url, [p.queue, `${p.queue}.dlq`]);
  }
  return drainResult(rss, p.messages, ms);
}

/**
 * Publish-spool cases (issue 7), on the SQLite transport (a broker file in the
 * case's temp dir) or on RabbitMQ (`url`: the run's vhost, quorum queues).
 * Each runs in a child process of its own (bench/child.ts).
 *
 * - publish: the bus publishing `messages` with `publishers` concurrent
 *   callers, each awaiting its receipt, with `publisher.spool` (a file in the
 *   case's temp dir) or without it, the broker healthy. Every receipt's
 *   outcome is counted: with a healthy broker none should be `spooled`.
 * - flush: the bus over a transport whose publish rejects with
 *   ConnectionError while a flag is set (the broker unreachable, as
 *   test/runtime/producer.test.ts injects it); `messages` publishes resolve
 *   `spooled`; then the flag is cleared and the case times the spool
 *   draining to the broker (`bus.status().spool.messages` reaching 0) and
 *   checks the group's queue holds every message.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectionError, missive, type Bus, type OutgoingMessage, type Transport } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { BenchEvent, eventData } from "./event.js";
import { statsOf } from "../../test/support/abilities.js";

export interface SpoolBenchParams {
  readonly broker: "sqlite" | "rabbitmq";
  /** Temp dir of the case: the spool file, and the SQLite broker file. */
  readonly dir: string;
  /** amqp:// URL of the run's vhost (broker "rabbitmq"). */
  readonly url?: string;
  /** The group bound to the bench type (its queue on RabbitMQ, deleted when the case ends). */
  readonly group: string;
  readonly messages: number;
  /** Concurrent callers, each awaiting its publish. */
  readonly publishers: number;
  /** Distinct ordering keys, round robin; 0: unkeyed. */
  readonly keys: number;
  /** Publish case: with `publisher.spool` or without. The flush case always has one. */
  readonly spool?: boolean;
}

export interface SpoolPublishResult {
  readonly perS: number;
  readonly rssMb: number;
  readonly cpuUsPerMsg: number;
  readonly confirmed: number;
  readonly spooled: number;
}

export interface SpoolFlushResult {
  /** Publishes per second while the broker was unreachable (each resolved `spooled`). */
  readonly spoolPerS: number;
  readonly spoolRssMb: number;
  readonly spooled: number;
  /** Messages in the spool when the broker came back. */
  readonly depthBefore: number;
  /** Broker back → first flush confirmed (the breaker's cool-down and its probe), ms. */
  readonly probeWaitMs: number;
  /** Messages per second from the first flush confirm to an empty spool. */
  readonly flushPerS: number;
  /** Messages per second from the broker's return to an empty spool (the probe wait included). */
  readonly recoveryPerS: number;
  readonly flushRssMb: number;
  /** The group's queue depth after the flush (transport stats()). */
  readonly queueDepth: number;
}

/** Window of RabbitMQ confirms outstanding, as the RabbitMQ publish rows. */
const WINDOW = 1000;
const FLUSH_TIMEOUT_MS = 240_000;

async function brokerTransport(p: SpoolBenchParams): Promise<Transport> {
  if (p.broker === "sqlite") return sqliteTransport({ path: join(p.dir, "broker.db") });
  if (p.url === undefined) throw new Error("the rabbitmq spool cases need `url`");
  // RabbitMQ's client is loaded only by the RabbitMQ cases.
  const { rabbitmqTransport } = await import("../../src/transports/rabbitmq/index.js");
  return rabbitmqTransport({ url: p.url, queueType: "quorum", publishWindow: WINDOW });
}

/** The case's queues go when it ends: the bench type's exchange fans out to every queue still bound to it. */
async function cleanUp(p: SpoolBenchParams): Promise<void> {
  if (p.broker !== "rabbitmq" || p.url === undefined) return;
  const { deleteQueues } = await import("./rabbitmq.js");
  await deleteQueues(p.url, [p.group, `${p.group}.dlq`]);
}

/** Publish `total` from `publishers` concurrent callers, counting the receipts' outcomes. */
async function publishAll(bus: Bus, p: SpoolBenchParams): Promise<{ confirmed: number; spooled: number }> {
  const data = eventData();
  const keys = p.keys > 0 ? Array.from({ length: p.keys }, (_, i) => ({ key: `k${i}` })) : undefined;
  let next = 0;
  let confirmed = 0;
  let spooled = 0;
  await Promise.all(Array.from({ length: p.publishers }, async () => {
    while (next < p.messages) {
      const i = next++;
      const receipt = await bus.publish(BenchEvent, data, keys?.[i % keys.length]);
      if (receipt.outcome === "confirmed") confirmed++;
      else spooled++;
    }
  }));
  return { confirmed, spooled };
}

export async function spoolPublish(p: SpoolBenchParams): Promise<SpoolPublishResult> {
  const bus = await missive({
    transport: await brokerTransport(p),
    service: "bench",
    ...(p.spool ? { publisher: { spool: join(p.dir, "spool.db") } } : {}),
  });
  try {
    await bus.declare(BenchEvent, p.group);
    const rss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcomes = await publishAll(bus, p);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    rss.stop();
    return { perS: rate(p.messages, ms), rssMb: rss.peakMb, cpuUsPerMsg: Math.round(((cpu.user + cpu.system) / p.messages) * 10) / 10, ...outcomes };
  } finally {
    await bus.close();
    await cleanUp(p);
  }
}

/** The real transport, unreachable while `down` is set: every publish rejects with ConnectionError at once. */
function switchable(inner: Transport): { transport: Transport; setDown(down: boolean): void } {
  let down = false;
  const transport: Transport = {
    name: inner.name,
    capabilities: inner.capabilities,
    connect: () => inner.connect(),
    bind: (group, topics) => inner.bind(group, topics),
    subscribe: (options) => inner.subscribe(options),
    close: () => inner.close(),
    publish: (batch: readonly OutgoingMessage[]) => (down ? Promise.reject(new ConnectionError("bench: the broker is unreachable")) : inner.publish(batch)),
  };
  return { transport, setDown: (d) => void (down = d) };
}

export async function spoolFlush(p: SpoolBenchParams): Promise<SpoolFlushResult> {
  const inner = await brokerTransport(p);
  const broker = switchable(inner);
  const bus = await missive({ transport: broker.transport, service: "bench", publisher: { spool: join(p.dir, "spool.db") } });
  let firstConfirmAt: number | undefined;
  // The flusher's probe, once confirmed, closes the breaker: the flush proper starts there.
  bus.onStatus((e) => {
    if (e.type === "breaker" && e.state === "closed") firstConfirmAt ??= performance.now();
  });
  try {
    await bus.declare(BenchEvent, p.group);
    broker.setDown(true);
    const spoolRss = new RssSampler().start();
    const t0 = performance.now();
    const outcomes = await publishAll(bus, p);
    const spoolMs = performance.now() - t0;
    spoolRss.stop();
    if (outcomes.confirmed > 0) throw new Error(`${outcomes.confirmed} publishes were confirmed by an unreachable broker`);
    const depthBefore = bus.status().spool?.messages ?? 0;

    const flushRss = new RssSampler().start();
    broker.setDown(false);
    const t1 = performance.now();
    while ((bus.status().spool?.messages ?? 0) > 0) {
      if (performance.now() - t1 > FLUSH_TIMEOUT_MS) throw new Error(`the spool still holds ${bus.status().spool?.messages} messages ${FLUSH_TIMEOUT_MS} ms after the broker came back`);
      await sleep(5);
    }
    const t2 = performance.now();
    flushRss.stop();
    const first = firstConfirmAt ?? t1;
    const queueDepth = (await statsOf(inner)).find((s) => s.group === p.group)?.depth ?? 0;
    return {
      spoolPerS: rate(p.messages, spoolMs), spoolRssMb: spoolRss.peakMb, spooled: outcomes.spooled, depthBefore,
      probeWaitMs: Math.round((first - t1) * 100) / 100, flushPerS: rate(depthBefore, t2 - first), recoveryPerS: rate(depthBefore, t2 - t1),
      flushRssMb: flushRss.peakMb, queueDepth,
    };
  } finally {
    await bus.close();
    await cleanUp(p);
  }
}

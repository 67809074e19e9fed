/**
 * NATS JetStream cases: the raw @nats-io client and missive doing the same
 * durable work on the shared nats-server, each in a child process of its own
 * (bench/child.ts), each under a stream prefix of its own (deleted when the
 * case ends).
 *
 * - raw: the stream missive would make for the topic (file storage, interest
 *   retention, the same duplicate window) and one durable pull consumer
 *   (explicit ack, the same MaxAckPending and AckWait); JetStream publishes
 *   with `Nats-Msg-Id` and the same CloudEvents headers, `window` PubAcks
 *   outstanding; then `consume()` on the durable consumer with `prefetch`
 *   messages pulled at a time, each body parsed and each message acked (the
 *   acks flushed to the server before the clock stops, as missive's are).
 * - missive: the bus on natsTransport (`publishWindow` = `window`), `window`
 *   concurrent publishers each awaiting its publish; then a consumer
 *   (concurrency and prefetch `prefetch`) draining that backlog, each message
 *   validated by the bus and acked.
 */
import { randomUUID } from "node:crypto";
import { AckPolicy, DeliverPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { missive, type Bus } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { DEFAULT_ACK_WAIT_MS, GROUP_MAX_ACK_PENDING } from "../../src/transports/nats/topology.js";
import { NATS_DEFAULTS } from "../../src/transports/nats/options.js";
import { removeNatsPrefix } from "../../test/support/nats.js";
import { busLatency, consumeAll, publishConcurrently, publishThenConsume } from "../lib/bus-load.js";
import { drainResult } from "../lib/drain.js";
import { latencyRecorder, pace, pacedTotal } from "../lib/latency.js";
import { cpuUsPerMsg, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";
import { BenchEvent, ceHeaders, eventData, GROUP } from "./event.js";
import type { DrainResult, LatencyResult, ThroughputResult } from "./sqlite.js";

export interface NatsParams {
  /** `host:port` of the shared server. */
  readonly server: string;
  /** This case's stream prefix (under the run's), removed when the case ends. */
  readonly prefix: string;
  readonly messages: number;
  /** Outstanding PubAcks of the raw publisher; missive's publishWindow and concurrent publishers. */
  readonly window: number;
  /** Messages pulled at a time by the raw consumer; missive's prefetch and handler concurrency. */
  readonly prefetch: number;
}

const NS_PER_MS = 1_000_000;

interface RawStream {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly subject: string;
  readonly stream: string;
}

/** The stream and durable consumer missive's topology makes for the bench topic, made by hand. */
async function rawStream(p: Pick<NatsParams, "server" | "prefix">): Promise<RawStream> {
  const nc = await connect({ servers: [p.server] });
  const jsm = await jetstreamManager(nc);
  const names = natsNames(p.prefix);
  const stream = names.topicStream(BenchEvent.type);
  const subject = names.topicSubject(BenchEvent.type);
  await jsm.streams.add({
    name: stream, subjects: [subject], retention: RetentionPolicy.Interest, storage: StorageType.File, num_replicas: 1,
    duplicate_window: NATS_DEFAULTS.duplicateWindowMs * NS_PER_MS,
  });
  await jsm.consumers.add(stream, {
    durable_name: GROUP, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: DEFAULT_ACK_WAIT_MS * NS_PER_MS,
    max_ack_pending: GROUP_MAX_ACK_PENDING, max_deliver: -1,
  });
  return { nc, js: jsm.jetstream(), subject, stream };
}

/** One JetStream publish as missive's transport sends it: the message id as `Nats-Msg-Id`, the CloudEvents headers. */
function rawPublish(s: RawStream, body: Uint8Array): Promise<unknown> {
  const id = randomUUID();
  const h = natsHeaders();
  for (const [k, v] of Object.entries(ceHeaders(id))) h.set(k, v);
  return s.js.publish(s.subject, body, { msgID: id, headers: h });
}

/** Pull from the durable consumer, `onMessage` for each; resolves once `total` were handled and their acks reached the server. */
async function rawConsume(s: RawStream, prefetch: number, total: number, onMessage: (m: JsMsg) => void): Promise<void> {
  const consumer = await s.js.consumers.get(s.stream, GROUP);
  let n = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const messages = await consumer.consume({
    max_messages: prefetch,
    callback: (m) => {
      onMessage(m);
      m.ack();
      if (++n === total) done();
    },
  });
  await all;
  await s.nc.flush();
  await messages.close();
}

async function withRawStream<T>(p: Pick<NatsParams, "server" | "prefix">, fn: (s: RawStream) => Promise<T>): Promise<T> {
  const s = await rawStream(p);
  try {
    return await fn(s);
  } finally {
    await s.nc.close();
    await removeNatsPrefix(p.server, p.prefix);
  }
}

export function natsRaw(p: NatsParams): Promise<ThroughputResult> {
  return withRawStream(p, async (s) => {
    const body = new TextEncoder().encode(JSON.stringify(eventData()));
    const decoder = new TextDecoder();
    const pubRss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let sent = 0;
    // `window` loops each awaiting its PubAck: at most `window` outstanding.
    await Promise.all(Array.from({ length: p.window }, async () => {
      while (sent < p.messages) {
        sent++;
        await rawPublish(s, body);
      }
    }));
    const publishMs = performance.now() - t0;
    const publishCpu = cpuUsPerMsg(cpu0, p.messages);
    pubRss.stop();

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    await rawConsume(s, p.prefetch, p.messages, (m) => void JSON.parse(decoder.decode(m.data)));
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, p.messages);
    conRss.stop();
    return {
      publish: rate(p.messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
      consume: rate(p.messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  });
}

async function openBus(p: Pick<NatsParams, "server" | "prefix" | "window">): Promise<Bus> {
  const bus = await missive({ transport: natsTransport({ servers: [p.server], prefix: p.prefix, publishWindow: p.window }), service: "bench" });
  await bus.declare(BenchEvent, GROUP);
  return bus;
}

async function withBus<T>(p: Pick<NatsParams, "server" | "prefix" | "window">, remove: boolean, fn: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await openBus(p);
  try {
    return await fn(bus);
  } finally {
    await bus.close();
    if (remove) await removeNatsPrefix(p.server, p.prefix);
  }
}

const consumerOf = (prefetch: number): { group: string; concurrency: number; prefetch: number } => ({ group: GROUP, concurrency: prefetch, prefetch });

export function natsMissive(p: NatsParams): Promise<ThroughputResult> {
  return withBus(p, true, (bus) => publishThenConsume(bus, p.messages, p.window, consumerOf(p.prefetch)));
}

export interface NatsLatencyParams extends Omit<NatsParams, "messages"> {
  readonly rate: number;
  readonly seconds: number;
}

export function natsLatencyMissive(p: NatsLatencyParams): Promise<LatencyResult> {
  return withBus(p, true, (bus) => busLatency(bus, consumerOf(p.prefetch), p));
}

/** The raw client's publish→handler latency at the same offered rate: each publish awaits its PubAck, the consumer pulls `prefetch` at a time. */
export function natsLatencyRaw(p: NatsLatencyParams): Promise<LatencyResult> {
  return withRawStream(p, async (s) => {
    const rec = latencyRecorder();
    const decoder = new TextDecoder();
    const total = pacedTotal(p.rate, p.seconds);
    const consumed = rawConsume(s, p.prefetch, total, (m) => rec.record((JSON.parse(decoder.decode(m.data)) as { sentAt: number }).sentAt));
    const rss = new RssSampler().start();
    const base = eventData();
    const failures: unknown[] = [];
    const t0 = performance.now();
    const { sent, measuredFrom } = await pace(p.rate, p.seconds, (sentAt) => {
      rawPublish(s, new TextEncoder().encode(JSON.stringify({ ...base, sentAt }))).catch((err: unknown) => failures.push(err));
    });
    await rec.waitFor(sent, 30_000);
    const ms = performance.now() - t0;
    await consumed;
    rss.stop();
    if (failures.length > 0) throw new Error(`${failures.length} raw publishes failed: ${String(failures[0])}`);
    return { ...rec.summary(measuredFrom), handledPerS: rate(sent, ms), rssMb: rss.peakMb };
  });
}

/** Fill a backlog for natsDrain through missive (a process of its own, so the drain's RSS is the drain's); the streams stay. */
export async function natsFill(p: NatsParams): Promise<{ published: number }> {
  await withBus(p, false, (bus) => publishConcurrently(bus, p.messages, p.window));
  return { published: p.messages };
}

/** Drain the filled backlog through missive, RSS sampled every 10 ms; the streams are removed after. */
export function natsDrain(p: NatsParams): Promise<DrainResult> {
  return withBus(p, true, async (bus) => {
    let handled = 0;
    const rss = new RssSampler(() => handled / p.messages).start(10);
    const t0 = performance.now();
    let ms: number;
    try {
      await consumeAll(bus, consumerOf(p.prefetch), p.messages, () => handled++);
      ms = performance.now() - t0;
    } finally {
      rss.stop();
    }
    return drainResult(rss, p.messages, ms);
  });
}

/**
 * Quick NATS JetStream figures on the shared nats-server: the raw client and
 * missive doing the same durable work in one run, each on streams of its own
 * (file storage, interest retention, one durable pull consumer).
 *
 * - raw: JetStream publishes with Nats-Msg-Id and the same CloudEvents
 *   headers, `window` PubAcks outstanding; then `consume()` on the durable
 *   pull consumer, each body parsed, each message acked.
 * - missive: the bus on natsTransport, `window` concurrent publishers each
 *   awaiting its publish; then a consumer (concurrency and prefetch 100)
 *   draining that backlog, each message validated by the bus and acked.
 *
 *   npx tsx bench/nats-quick.ts [messages=20000] [window=256]
 *
 * A quick look in one process; `npm run bench -- --only nats` measures the
 * same comparison in rounds, each side in a child process of its own
 * (bench/nats-run.ts), with latency and a drain.
 */
import { randomUUID } from "node:crypto";
import { AckPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { missive } from "../src/index.js";
import { natsTransport } from "../src/transports/nats/index.js";
import { removeNatsPrefix } from "../test/support/nats.js";
import { BenchEvent, eventData } from "./cases/event.js";

const SERVER = "127.0.0.1:4222";
const total = Number(process.argv[2] ?? 20_000);
const window = Number(process.argv[3] ?? 256);
const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000));

async function raw(): Promise<{ publish: number; consume: number }> {
  const nc = await connect({ servers: [SERVER] });
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  const name = `RAWBENCH_${randomUUID().slice(0, 8)}`;
  const subject = `rawbench.${name}`;
  await jsm.streams.add({ name, subjects: [subject], retention: RetentionPolicy.Interest, storage: StorageType.File });
  await jsm.consumers.add(name, { durable_name: "bench", ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
  const body = new TextEncoder().encode(JSON.stringify(eventData()));
  try {
    const t0 = performance.now();
    let sent = 0;
    await Promise.all(Array.from({ length: window }, async () => {
      while (sent < total) {
        sent++;
        const id = randomUUID();
        const h = natsHeaders();
        for (const [k, v] of Object.entries({ "ce-id": id, "ce-source": "bench", "ce-type": BenchEvent.type, "ce-specversion": "1.0", "ce-time": new Date().toISOString(), "content-type": "application/json" })) h.set(k, v);
        await js.publish(subject, body, { msgID: id, headers: h });
      }
    }));
    const publishMs = performance.now() - t0;
    const consumer = await js.consumers.get(name, "bench");
    const t1 = performance.now();
    let got = 0;
    const messages = await consumer.consume({ max_messages: 256 });
    for await (const m of messages) {
      JSON.parse(new TextDecoder().decode(m.data));
      m.ack();
      if (++got === total) break;
    }
    const consumeMs = performance.now() - t1;
    return { publish: rate(total, publishMs), consume: rate(total, consumeMs) };
  } finally {
    await jsm.streams.delete(name);
    await nc.close();
  }
}

async function viaMissive(): Promise<{ publish: number; consume: number; rss: string }> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const bus = await missive({ service: "bench", transport: natsTransport({ servers: [SERVER], prefix, publishWindow: window }) });
  try {
    await bus.declare(BenchEvent, "bench");
    const t0 = performance.now();
    let sent = 0;
    await Promise.all(Array.from({ length: window }, async () => {
      while (sent < total) {
        sent++;
        await bus.publish(BenchEvent, eventData());
      }
    }));
    const publishMs = performance.now() - t0;
    let got = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => (done = r));
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(process.memoryUsage().rss), 100);
    const t1 = performance.now();
    await bus.consume(BenchEvent, { group: "bench", concurrency: 100, prefetch: 100 }, () => {
      if (++got === total) done();
    }).ready;
    await all;
    const consumeMs = performance.now() - t1;
    clearInterval(sampler);
    // RSS while draining the backlog: the first tenth of the samples against the last tenth (flat: no growth per message).
    const mb = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length) / 2 ** 20).toFixed(0);
    const tenth = Math.max(1, Math.floor(samples.length / 10));
    const rss = `rss while draining: first tenth ${mb(samples.slice(0, tenth))} MiB, last tenth ${mb(samples.slice(-tenth))} MiB, peak ${(Math.max(...samples) / 2 ** 20).toFixed(0)} MiB`;
    return { publish: rate(total, publishMs), consume: rate(total, consumeMs), rss };
  } finally {
    await bus.close();
    await removeNatsPrefix(SERVER, prefix);
  }
}

const r = await raw();
const m = await viaMissive();
console.log(`nats ${total} messages, window ${window}: publish raw ${r.publish}/s missive ${m.publish}/s (${(m.publish / r.publish).toFixed(2)}x); consume raw ${r.consume}/s missive ${m.consume}/s (${(m.consume / r.consume).toFixed(2)}x); missive ${m.rss}`);

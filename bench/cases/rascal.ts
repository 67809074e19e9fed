/**
 * The RabbitMQ peer: rascal 21 (on amqplib), used as its README says: a vhost
 * config with a durable exchange, a durable queue of the case's type and
 * their binding, a publication with `confirm: true` (rascal's defaults add
 * `persistent` and `mandatory`), and a subscription with prefetch 100.
 * `broker.publish` with `publishers` concurrent callers, each awaiting its
 * publication's "success" (the confirm); then the subscription drains that
 * backlog, each message acked. Runs in a child process of its own.
 */
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { RssSampler } from "../lib/rss-sampler.js";
import { eventData } from "./event.js";
import { concurrentCalls, cpuUsPerMsg, measurePhase, rate } from "../lib/measure.js";
import { deleteQueues, type RabbitParams } from "./rabbitmq.js";
import type { ThroughputResult } from "./sqlite.js";

// rascal ships no types: the few calls made here, typed by hand.
interface Publication {
  on(event: "success", fn: (messageId: string) => void): Publication;
  on(event: "error", fn: (err: Error) => void): Publication;
  on(event: "return", fn: (message: unknown) => void): Publication;
}
interface SubscriberSession {
  on(event: "message", fn: (message: unknown, content: unknown, ackOrNack: () => void) => void): SubscriberSession;
  on(event: "error" | "invalid_content", fn: (err: Error) => void): SubscriberSession;
  cancel(): Promise<void>;
}
interface Broker {
  on(event: "error", fn: (err: Error) => void): void;
  publish(name: string, content: unknown): Promise<Publication>;
  subscribe(name: string, overrides?: { prefetch?: number }): Promise<SubscriberSession>;
  shutdown(): Promise<void>;
}
interface Rascal {
  BrokerAsPromised: { create(config: unknown): Promise<Broker> };
  withDefaultConfig(config: unknown): unknown;
}
const rascal = createRequire(import.meta.url)("rascal") as Rascal;

function config(p: RabbitParams): unknown {
  const vhost = decodeURIComponent(new URL(p.url).pathname.slice(1));
  return rascal.withDefaultConfig({
    vhosts: {
      [vhost]: {
        connection: { url: p.url },
        exchanges: { [p.queue]: { type: "fanout", options: { durable: true } } },
        queues: { [p.queue]: { options: { durable: true, arguments: { "x-queue-type": p.queueType } } } },
        bindings: [`${p.queue} -> ${p.queue}`],
        publications: { p: { exchange: p.queue, confirm: true } },
        subscriptions: { s: { queue: p.queue, prefetch: p.prefetch } },
      },
    },
  });
}

/** Publish once and wait for the broker's confirm; a return (unroutable) is a failure too. */
async function publishConfirmed(broker: Broker, data: unknown): Promise<void> {
  const publication = await broker.publish("p", data);
  await new Promise<void>((resolve, reject) => {
    publication.on("success", () => resolve()).on("error", reject).on("return", () => reject(new Error("rascal: message returned unroutable")));
  });
}

export async function rascalThroughput(p: RabbitParams): Promise<ThroughputResult> {
  const broker = await rascal.BrokerAsPromised.create(config(p));
  const failures: Error[] = [];
  broker.on("error", (err) => failures.push(err));
  try {
    const data = eventData();
    const pub = await measurePhase(p.messages, () => concurrentCalls(p.messages, p.publishers, () => publishConfirmed(broker, data)));
    await sleep(p.settleMs);

    const conRss = new RssSampler().start();
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    let n = 0;
    const session = await broker.subscribe("s", { prefetch: p.prefetch });
    await new Promise<void>((resolve, reject) => {
      session.on("message", (_message, _content, ackOrNack) => {
        ackOrNack();
        if (++n === p.messages) resolve();
      }).on("error", reject).on("invalid_content", reject);
    });
    const consumeMs = performance.now() - t1;
    const consumeCpu = cpuUsPerMsg(cpu1, n);
    conRss.stop();
    await session.cancel();
    if (failures.length > 0) throw failures[0]!;
    return {
      publish: rate(p.messages, pub.ms), publishRssMb: pub.rssMb, publishCpuUsPerMsg: pub.cpuUsPerMsg,
      consume: rate(n, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
    };
  } finally {
    await broker.shutdown().catch(() => undefined);
    await deleteQueues(p.url, [p.queue]);
  }
}

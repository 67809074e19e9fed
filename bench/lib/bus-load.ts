/**
 * Load a bus the way every missive case does: `publishers` concurrent
 * callers each awaiting its publish, and one consumer that resolves once it
 * handled a count (the handler returning is the ack); publish→handler
 * latency at a fixed offered rate.
 */
import type { Bus } from "../../src/index.js";
import { BenchEvent, eventData } from "../cases/event.js";
import type { LatencyResult, ThroughputResult } from "../cases/sqlite.js";
import { latencyRecorder, pace } from "./latency.js";
import { cpuUsPerMsg, rate } from "./measure.js";
import { RssSampler } from "./rss-sampler.js";

export async function publishConcurrently(bus: Bus, total: number, publishers: number): Promise<void> {
  let sent = 0;
  const data = eventData();
  await Promise.all(Array.from({ length: publishers }, async () => {
    while (sent < total) {
      sent++;
      await bus.publish(BenchEvent, data);
    }
  }));
}

/** Resolves once `total` messages were handled. */
export async function consumeAll(bus: Bus, options: { readonly group: string; readonly concurrency: number; readonly prefetch: number }, total: number, onHandled: () => void = () => undefined): Promise<void> {
  let handled = 0;
  await new Promise<void>((resolve) => {
    bus.consume(BenchEvent, options, () => {
      onHandled();
      if (++handled === total) resolve();
    });
  });
}

/** Publish at `rate` msg/s for a warm-up and then `seconds` to a consumer in this process; only the `seconds` after the warm-up are measured (latency.ts). */
export async function busLatency(bus: Bus, consumer: { readonly group: string; readonly concurrency: number; readonly prefetch: number }, p: { readonly rate: number; readonly seconds: number }): Promise<LatencyResult> {
  const rec = latencyRecorder();
  await bus.consume(BenchEvent, consumer, (data) => rec.record(data.sentAt)).ready;
  const rss = new RssSampler().start();
  const base = eventData();
  const t0 = performance.now();
  const failures: unknown[] = [];
  const { sent, measuredFrom } = await pace(p.rate, p.seconds, (sentAt) => {
    bus.publish(BenchEvent, { ...base, sentAt }).catch((err: unknown) => failures.push(err));
  });
  await rec.waitFor(sent, 30_000);
  const ms = performance.now() - t0;
  rss.stop();
  if (failures.length > 0) throw new Error(`${failures.length} publishes failed: ${String(failures[0])}`);
  return { ...rec.summary(measuredFrom), handledPerS: rate(sent, ms), rssMb: rss.peakMb };
}

/** Publish `messages` with `publishers` concurrent callers, then consume them all: each phase's rate, peak RSS and CPU per message. */
export async function publishThenConsume(bus: Bus, messages: number, publishers: number, consumer: { readonly group: string; readonly concurrency: number; readonly prefetch: number }): Promise<ThroughputResult> {
  const pubRss = new RssSampler().start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await publishConcurrently(bus, messages, publishers);
  const publishMs = performance.now() - t0;
  const publishCpu = cpuUsPerMsg(cpu0, messages);
  pubRss.stop();

  const conRss = new RssSampler().start();
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  await consumeAll(bus, consumer, messages);
  const consumeMs = performance.now() - t1;
  const consumeCpu = cpuUsPerMsg(cpu1, messages);
  conRss.stop();
  return {
    publish: rate(messages, publishMs), publishRssMb: pubRss.peakMb, publishCpuUsPerMsg: publishCpu,
    consume: rate(messages, consumeMs), consumeRssMb: conRss.peakMb, consumeCpuUsPerMsg: consumeCpu,
  };
}

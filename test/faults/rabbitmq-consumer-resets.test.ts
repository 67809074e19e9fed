/**
 * Fault (issue 14): a busy unordered RabbitMQ consumer (concurrency 8, the
 * inbox in SQLite) whose connection is reset (RST both ways, through the TCP
 * proxy) every 0.5 s, then every 1 s, while it works through a backlog.
 * What broke: after each reset it delivered nothing for 2–3 s, under resets
 * every 0.5–1 s it made almost no progress, and every reset added an attempt
 * to every prefetched message, so a message that failed once later was
 * dead-lettered at once.
 *
 * Counted: every message handled (lost 0), no double effect, the attempt a
 * handler sees is never more than the handler starts of its message (this
 * one included), and messages whose first start fails (retry budget 2) are
 * never dead-lettered. Printed: msg/s with no resets, under each reset rate,
 * and the time from each reconnect to the first handler start after it.
 */
import { describe, expect, it } from "vitest";
import { OrderPlaced } from "../conformance/contracts.js";
import { createChecker } from "../support/checker.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitFor } from "../support/wait.js";
import { effectsFile, every, openBus, publishKeyed, rabbitmqFaults, readBack, settled, viaPort } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults();
const COUNT = 10_000;
const GROUP = "resets-billing";
/** Every FAIL_EVERY-th message (by seq) fails on its first handler start. */
const FAIL_EVERY = 25;

/** Median and largest of `values`, rounded, for the log line. */
function spread(values: readonly number[]): string {
  if (values.length === 0) return "none";
  const sorted = [...values].sort((a, b) => a - b);
  return `median=${sorted[Math.floor(sorted.length / 2)]} max=${sorted[sorted.length - 1]} n=${sorted.length}`;
}

describe("faults - rabbitmq consumer under connection resets", () => {
  it("faults - rabbitmq consumer: reset every 0.5 s then every 1 s: lost 0, double effects 0, attempts only count handler starts, nothing dead-lettered, progress under resets", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const { path, effects } = effectsFile(fx);
    const { bus: producer } = await openBus(fx, { url: fx.vhost().url });
    await producer.declare(OrderPlaced, GROUP);
    const published = await publishKeyed(producer, checker, { count: COUNT, keys: 200 });
    expect(published.errors.map(String)).toEqual([]);

    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    fx.defer(() => proxy.stop());
    const { bus } = await openBus(fx, { url: viaPort(fx.vhost().url, proxy.port) }, effects);
    const ups: number[] = [];
    bus.onStatus((e) => {
      if (e.type === "transport" && e.event.kind === "connection" && e.event.state === "up") ups.push(e.at);
    });
    const startsOf = new Map<string, number>();
    const startTimes: number[] = [];
    const overCounted: string[] = [];
    let committed = 0;
    let maxAttempt = 0;
    const consumer = bus.consume(OrderPlaced, { group: GROUP, concurrency: 8, idempotency: effects.inbox, retry: { attempts: 2, delays: ["10ms"] }, breaker: false }, async (order, ctx) => {
      const id = ctx.message.id;
      const starts = (startsOf.get(id) ?? 0) + 1;
      startsOf.set(id, starts);
      startTimes.push(Date.now());
      checker.handled(id);
      maxAttempt = Math.max(maxAttempt, ctx.attempt);
      if (ctx.attempt > starts && overCounted.length < 10) overCounted.push(`${id}: attempt ${ctx.attempt} at start ${starts} (after ${ups.length} reconnects, seq ${order.seq}, ${Date.now() - started} ms)`);
      if (starts === 1 && order.seq % FAIL_EVERY === 0) throw new Error("fails on its first start");
      await sleep(10 + Math.random() * 10);
      await ctx.transaction((tx) => effects.record(tx, id, order.orderId, order.seq));
      committed++;
    });
    await consumer.ready;

    // msg/s over a phase: effects committed during it per second.
    const phase = async (ms: number, resetEveryMs: number | undefined): Promise<{ rate: number; resets: number }> => {
      const from = committed;
      const timer = resetEveryMs === undefined ? undefined : every(resetEveryMs, () => proxy.reset());
      await sleep(ms);
      const resets = timer?.stop() ?? 0;
      return { rate: Math.round(((committed - from) * 1000) / ms), resets };
    };
    await waitFor(() => committed >= 100, 20_000, "the consumer to get going");
    const calm = await phase(2000, undefined);
    const halfSecond = await phase(8000, 500);
    const oneSecond = await phase(6000, 1000);
    const drained = await settled(path, published.confirmedIds, 60_000);

    // Resume: from each reconnect to the first handler start after it (none when the next reset came first).
    const resume = ups.flatMap((up) => {
      const first = startTimes.find((t) => t >= up);
      return first === undefined ? [] : [first - up];
    });
    const back = readBack(path, checker);
    const r = checker.check();
    const stats = consumer.stats();
    console.log(`[fault] rabbitmq consumer resets: msg_per_s calm=${calm.rate} reset_500ms=${halfSecond.rate} (${halfSecond.resets} resets) reset_1000ms=${oneSecond.rate} (${oneSecond.resets} resets) resume_ms ${spread(resume)} connections=${proxy.stats.accepted} max_attempt=${maxAttempt} max_starts=${Math.max(...startsOf.values())} dead_lettered=${stats.deadLettered} retried=${stats.retried} drained=${drained} effects=${back.effects} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    if (overCounted.length > 0) console.log(`[fault] over-counted: ${overCounted.join("; ")}`);
    expect(halfSecond.resets + oneSecond.resets).toBeGreaterThanOrEqual(18);
    expect(proxy.stats.accepted).toBeGreaterThanOrEqual(18); // the consumer came back after each reset
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(overCounted).toEqual([]);
    expect(stats.deadLettered).toBe(0);
    // Progress under resets: at least a third of the calm rate.
    expect(halfSecond.rate).toBeGreaterThan(calm.rate / 3);
    expect(oneSecond.rate).toBeGreaterThan(calm.rate / 3);
  }, 120_000);
});

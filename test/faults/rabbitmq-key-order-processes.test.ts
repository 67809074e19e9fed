/**
 * Key order across processes on RabbitMQ (ADR 007): two consumer PROCESSES
 * of one ordered group, many keys, random handler times and transient
 * failures retried with short delays. The group is partitioned by key hash;
 * each partition is consumed by one process at a time, which hands out one
 * message per key and holds a keyed retry through its delay. Checked from the
 * effects both processes commit into one SQLite file (rowid order is commit
 * order): every key in publish order, nothing lost, no double effect, both
 * processes did work; and the same with one process SIGKILLed half-way (its
 * unacked messages go back to their partitions, the survivor takes them over).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RabbitmqOrderedConsumerArgs, RabbitmqOrderedConsumerMessage } from "../fixtures/rabbitmq-ordered-consumer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { waitFor } from "../support/wait.js";
import { effectsByPid, startOrderedConsumer, type StartedConsumer } from "./key-order-support.js";
import { GROUP, openBus, publishKeyed, rabbitmqFaults, readBack, settled, type RabbitmqFaults } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults();


function startConsumer(f: RabbitmqFaults, name: string, options: Partial<RabbitmqOrderedConsumerArgs> = {}): Promise<StartedConsumer> {
  const args: RabbitmqOrderedConsumerArgs = {
    url: f.vhost().url, effects: join(f.dir(), "effects.db"), group: GROUP, journal: join(f.dir(), `${name}.journal`), concurrency: 16, workMs: 8, failRate: 0.05, ...options,
  };
  return startOrderedConsumer("rabbitmq-ordered-consumer", name, args);
}

/** Effects committed per process id. */

describe("rabbitmq - key order across processes", () => {
  it("rabbitmq - two consumer processes of one ordered group: every key in publish order through retries, no key stalled, both did work, stats right", async ({ skip }) => {
    if (fx.skip()) return skip();
    const checker = createChecker();
    const { bus, transport } = await openBus(fx, { url: fx.vhost().url });
    const a = await startConsumer(fx, "a");
    const b = await startConsumer(fx, "b");
    // Both members have taken their share of partitions before the traffic starts (balancing runs about every second).
    await new Promise((r) => setTimeout(r, 2500));
    const published = await publishKeyed(bus, checker, { count: 3000, keys: 60 });
    expect(published.rejected).toBe(0);
    const effectsPath = join(fx.dir(), "effects.db");
    const drained = await settled(effectsPath, published.confirmedIds, 90_000);

    const back = readBack(effectsPath, checker, [a.journal, b.journal]);
    const r = checker.check();
    const byPid = effectsByPid(effectsPath);
    console.log(`[key-order] two processes: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} retried=${a.progress.retried + b.progress.retried} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    for (const n of byPid.values()) expect(n).toBeGreaterThan(300);
    expect(a.progress.retried + b.progress.retried).toBeGreaterThan(0);

    // stats(): nothing ready in the group's queue or its partitions, nothing in flight, two consumers.
    await waitFor(async () => {
      const s = (await transport.stats()).find((q) => q.group === GROUP);
      return s !== undefined && s.ready === 0 && s.inFlight === 0 && s.delayed === 0 && s.consumers === 2;
    }, 30_000, "stats: the ordered group drained, with two consumers");
  }, 180_000);

  it("rabbitmq - one of two ordered consumer processes SIGKILLed half-way: the other takes over its partitions, order per key holds, nothing lost", async ({ skip }) => {
    if (fx.skip()) return skip();
    const checker = createChecker();
    const { bus, transport } = await openBus(fx, { url: fx.vhost().url });
    const victim = await startConsumer(fx, "victim", { stallAfter: 600 });
    const survivor = await startConsumer(fx, "survivor");
    await new Promise((r) => setTimeout(r, 2500));
    const publishing = publishKeyed(bus, checker, { count: 3000, keys: 60 });
    await killOnMessage(victim.child, (m: RabbitmqOrderedConsumerMessage) => "stalled" in m, 90_000, "the victim stalled mid-handler");
    const published = await publishing;
    expect(published.rejected).toBe(0);
    const effectsPath = join(fx.dir(), "effects.db");
    const drained = await settled(effectsPath, published.confirmedIds, 90_000);

    const back = readBack(effectsPath, checker, [victim.journal, survivor.journal]);
    const r = checker.check();
    const byPid = effectsByPid(effectsPath);
    console.log(`[key-order] sigkill: drained=${drained} by_pid=${JSON.stringify([...byPid.values()])} order_violations=${back.orderViolations} ${checker.summary()}`);
    expect(drained).toBe(true);
    expect(r.confirmed).toBe(3000);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    expect(byPid.size).toBe(2);
    await waitFor(async () => {
      const s = (await transport.stats()).find((q) => q.group === GROUP);
      return s !== undefined && s.ready === 0 && s.inFlight === 0 && s.consumers === 1;
    }, 30_000, "stats: drained, one consumer left");
    survivor.child.kill("SIGKILL");
  }, 180_000);
});

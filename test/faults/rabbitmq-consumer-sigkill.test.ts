/**
 * Fault: an ordered RabbitMQ consumer process SIGKILLed mid-handler, twice,
 * restarted each time (one process at a time): once before the handler's
 * effect, once after it committed and before the ack. The broker takes back
 * the unacked messages when the connection dies; the inbox (SQLite, same
 * transaction as the effect) absorbs the redeliveries. Counted after a final
 * drain: lost 0, double effects 0, per-key order violations 0. The control
 * shows the checker bites: without the inbox, the kill between effect and
 * ack doubles that effect.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OrderPlaced } from "../conformance/contracts.js";
import type { RabbitmqFaultConsumerArgs, RabbitmqFaultConsumerMessage } from "../fixtures/rabbitmq-fault-consumer.js";
import { createChecker } from "../support/checker.js";
import { forkFixture, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { GROUP, openBus, publishKeyed, rabbitmqFaults, readBack, settled, type RabbitmqFaults } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults();
const COUNT = 1500;

async function startConsumer(f: RabbitmqFaults, name: string, journals: string[], options: Partial<RabbitmqFaultConsumerArgs> = {}) {
  const journal = join(f.dir(), `${name}.journal`);
  journals.push(journal);
  const args: RabbitmqFaultConsumerArgs = { url: f.vhost().url, effects: join(f.dir(), "effects.db"), group: GROUP, journal, concurrency: 8, ...options };
  const child = forkFixture("rabbitmq-fault-consumer", [JSON.stringify(args)]);
  await nextMessage(child, (m: RabbitmqFaultConsumerMessage) => "ready" in m, 30_000, `consumer ${name} ready`);
  return child;
}

describe("faults - rabbitmq consumer sigkill", () => {
  it("faults - rabbitmq: an ordered consumer SIGKILLed twice mid-handler and restarted: lost 0, double effects 0, order violations 0", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const { bus } = await openBus(fx, { url: fx.vhost().url });
    await bus.declare(OrderPlaced, GROUP);
    const published = await publishKeyed(bus, checker, { count: COUNT, keys: 50 });
    expect(published.rejected).toBe(0);

    const journals: string[] = [];
    let kills = 0;
    for (const [stallAfter, stallAt] of [[200, "before-effect"], [300, "after-effect"]] as const) {
      const victim = await startConsumer(fx, `victim-${kills}`, journals, { stallAfter, stallAt });
      await killOnMessage(victim, (m: RabbitmqFaultConsumerMessage) => "stalled" in m, 60_000, `victim ${kills} stalled mid-handler`);
      kills++;
    }
    const survivor = await startConsumer(fx, "survivor", journals);
    const drained = await settled(join(fx.dir(), "effects.db"), published.confirmedIds, 60_000);
    survivor.kill("SIGKILL");

    const back = readBack(join(fx.dir(), "effects.db"), checker, journals);
    const r = checker.check();
    console.log(`[fault] rabbitmq consumer sigkill: kills=${kills} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(r.confirmed).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
    // The kill before the effect interrupted a handler that had started: it ran again.
    expect(r.duplicates).toBeGreaterThanOrEqual(1);
  }, 110_000);

  it("faults - rabbitmq: control: without the inbox, a consumer SIGKILLed between effect and ack doubles that effect", async ({ skip }) => {
    if (fx.skip()) return skip();
    const checker = createChecker();
    const { bus } = await openBus(fx, { url: fx.vhost().url });
    await bus.declare(OrderPlaced, GROUP);
    const published = await publishKeyed(bus, checker, { count: 200, keys: 20 });
    const journals: string[] = [];
    const victim = await startConsumer(fx, "victim", journals, { stallAfter: 50, stallAt: "after-effect", inbox: false });
    const message = await killOnMessage(victim, (m: RabbitmqFaultConsumerMessage) => "stalled" in m, 60_000, "the victim stalled after its effect");
    const survivor = await startConsumer(fx, "survivor", journals, { inbox: false });
    const drained = await settled(join(fx.dir(), "effects.db"), published.confirmedIds, 60_000);
    survivor.kill("SIGKILL");

    readBack(join(fx.dir(), "effects.db"), checker, journals);
    const r = checker.check();
    console.log(`[fault] rabbitmq consumer sigkill without inbox (control): drained=${drained} ${checker.summary()}`);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toContain((message as { stalled: string }).stalled);
  }, 110_000);
});


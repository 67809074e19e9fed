/**
 * Faults of the broker itself, on a RabbitMQ node of this file's own (its
 * own port, data directory and node name; the shared broker at 5672 is never
 * touched), one node for the file since it takes seconds to start, a vhost
 * of its own per test:
 *
 * - memory alarm (`set_vm_memory_high_watermark 0.00001`): the broker blocks
 *   publishers (`connection.blocked`), which the transport turns into
 *   backpressure. Lifted within the producer's deadline, every publish waits,
 *   then confirms and arrives. With a short `blockedTimeoutMs` (and producer
 *   deadline) the alarm outlasts it: `publish` rejects with a typed error
 *   after the producer's own retries, and nothing confirmed is lost. The
 *   alarm is always lifted after a test.
 * - restart mid-stream (last: it kills the node): while a producer publishes
 *   a keyed stream and an ordered consumer works through it, the node is
 *   SIGKILLed and started again on the same data directory, then shut down
 *   gracefully and started again. Quorum queues keep every confirmed message;
 *   the transport reconnects by itself on both sides.
 *
 * Each counted through an ordered consumer with the inbox (SQLite): lost 0,
 * double effects 0, per-key order violations 0.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes, isMissiveError } from "../../src/errors.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { missingBinary, startBroker, type BrokerProcess } from "../support/broker-process.js";
import { createChecker } from "../support/checker.js";
import { sleep, waitFor } from "../support/wait.js";
import { consumeOrdered, effectsFile, GROUP, openBus, ownNodeCtl, publishKeyed, rabbitmqFaults, readBack, settled } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults({ shared: false, missing: () => missingBinary("rabbitmq") });
const ALARM = "0.00001";
const NO_ALARM = "0.4";
const RESTART_COUNT = 3000;

describe("faults - rabbitmq own node: memory alarm, restart", () => {
  let broker: BrokerProcess | undefined;
  beforeAll(async () => {
    if (!fx.skip()) broker = await startBroker("rabbitmq");
  }, 90_000);
  afterAll(async () => {
    await broker?.stop();
  });

  /** A vhost of this test's own on the node, and the alarm lifted after the test whatever happens. */
  async function vhostUrl(b: BrokerProcess): Promise<string> {
    const name = `alarm-${randomBytes(4).toString("hex")}`;
    await ownNodeCtl(b, ["add_vhost", name]);
    await ownNodeCtl(b, ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]);
    fx.defer(() => ownNodeCtl(b, ["set_vm_memory_high_watermark", NO_ALARM]));
    return `${b.url}/${name}`;
  }

  it("faults - rabbitmq: publishes wait while a memory alarm blocks publishers, then all confirm and arrive once it is lifted", async ({ skip }) => {
    if (fx.skip() || !broker) return skip();
    const started = Date.now();
    const url = await vhostUrl(broker);
    const checker = createChecker();
    const { path, effects } = effectsFile(fx);
    const { bus: producer } = await openBus(fx, { url }, undefined, { publisher: { timeout: "60s" } });
    await producer.declare(OrderPlaced, GROUP);
    // Some traffic before the alarm, so the stream is well under way when it hits.
    const warmup = await publishKeyed(producer, checker, { count: 100, keys: 20, keyPrefix: "warm" });

    await ownNodeCtl(broker, ["set_vm_memory_high_watermark", ALARM]);
    let confirmed = 0;
    const stream = publishKeyed(producer, checker, { count: 500, keys: 20, onConfirmed: (n) => (confirmed = n) });
    await sleep(2500);
    const confirmedDuringAlarm = confirmed;
    await ownNodeCtl(broker, ["set_vm_memory_high_watermark", NO_ALARM]);
    const liftedAt = Date.now();
    const published = await stream;
    const waitedAfterLift = Date.now() - liftedAt;

    const { bus: consumer } = await openBus(fx, { url }, effects);
    await consumeOrdered(consumer, effects, checker);
    const drained = await settled(path, [...warmup.confirmedIds, ...published.confirmedIds], 60_000);
    const back = readBack(path, checker);
    const r = checker.check();
    console.log(`[fault] rabbitmq memory alarm lifted: confirmed_during_alarm=${confirmedDuringAlarm} ms_to_finish_after_lift=${waitedAfterLift} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    // Backpressure: at most a first message per connection slips through before the broker blocks it.
    expect(confirmedDuringAlarm).toBeLessThan(20);
    expect(published.rejected).toBe(0);
    expect(r.confirmed).toBe(600);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 100_000);

  it("faults - rabbitmq: a memory alarm past a short blockedTimeoutMs rejects publish with a typed error; nothing confirmed is lost", async ({ skip }) => {
    if (fx.skip() || !broker) return skip();
    const started = Date.now();
    const url = await vhostUrl(broker);
    const checker = createChecker();
    const { path, effects } = effectsFile(fx);
    const { bus: producer } = await openBus(fx, { url, blockedTimeoutMs: 500, confirmTimeoutMs: 1500 }, undefined, { publisher: { timeout: "4s" } });
    await producer.declare(OrderPlaced, GROUP);
    const warmup = await publishKeyed(producer, checker, { count: 50, keys: 10, keyPrefix: "warm" });

    await ownNodeCtl(broker, ["set_vm_memory_high_watermark", ALARM]);
    const publishStarted = Date.now();
    // One message per key: every publish runs at once, so each rejection measures one publish's own deadline.
    const blocked = await publishKeyed(producer, checker, { count: 100, keys: 100 });
    const rejectedAfterMs = Date.now() - publishStarted;
    await ownNodeCtl(broker, ["set_vm_memory_high_watermark", NO_ALARM]);

    const { bus: consumer } = await openBus(fx, { url }, effects);
    await consumeOrdered(consumer, effects, checker);
    const drained = await settled(path, [...warmup.confirmedIds, ...blocked.confirmedIds], 60_000);
    await sleep(1000); // what the broker had read before blocking, and now takes, arrives too (rejected but delivered)
    const back = readBack(path, checker);
    const r = checker.check();
    const codes = [...new Set(blocked.errors.map((e) => (isMissiveError(e) ? `${e.name}:${e.code}<-${isMissiveError(e.cause) ? e.cause.code : String(e.cause)}` : String(e))))];
    console.log(`[fault] rabbitmq memory alarm timeout: rejected_after_ms=${rejectedAfterMs} errors=${codes.join(",")} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(blocked.rejected).toBeGreaterThanOrEqual(50); // all 100 in every run so far: none confirms while blocked
    for (const e of blocked.errors) {
      expect(isMissiveError(e)).toBe(true);
      expect(isMissiveError(e) && [ErrorCodes.PUBLISH_TIMEOUT, ErrorCodes.CONNECTION].includes(e.code as never)).toBe(true);
    }
    // The producer's deadline (4 s) plus a last transport round (confirmTimeoutMs 1.5 s), with room for a busy machine.
    expect(rejectedAfterMs).toBeGreaterThanOrEqual(4000);
    expect(rejectedAfterMs).toBeLessThan(20_000);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 100_000);

  it("faults - rabbitmq: own node SIGKILLed and restarted, then stopped and restarted, mid-stream: lost 0, double effects 0, order violations 0", async ({ skip }) => {
    if (fx.skip() || !broker) return skip();
    const started = Date.now();
    const b = broker;
    const url = await vhostUrl(b);
    const checker = createChecker();
    const { path, effects } = effectsFile(fx);
    // The producer outlasts a restart (about 5-10 s here) instead of rejecting.
    const { bus: producer } = await openBus(fx, { url, confirmTimeoutMs: 5000 }, undefined, { publisher: { timeout: "60s" } });
    await producer.declare(OrderPlaced, GROUP);
    const { bus: consumer } = await openBus(fx, { url, heartbeatSeconds: 2 }, effects);
    const committed = await consumeOrdered(consumer, effects, checker, { concurrency: 8, workMs: 4 });

    let confirmed = 0;
    const stream = publishKeyed(producer, checker, { count: RESTART_COUNT, keys: 30, onConfirmed: (n) => (confirmed = n) });
    const faults: string[] = [];
    await waitFor(() => confirmed >= 600, 60_000, "600 confirms before the kill");
    faults.push(`kill@${confirmed}/${committed()}`);
    await b.kill();
    await b.restart();
    // Generous: a node restart takes 10-35 s on a loaded 2-core machine (Erlang boot, then quorum queue recovery).
    await waitFor(() => confirmed >= 1800, 120_000, "1800 confirms before the graceful stop");
    faults.push(`stop@${confirmed}/${committed()}`);
    await ownNodeCtl(b, ["shutdown"]);
    await b.restart();
    const published = await stream;
    const drained = await settled(path, published.confirmedIds, 90_000);

    const back = readBack(path, checker);
    const r = checker.check();
    console.log(`[fault] rabbitmq broker restart: faults=${faults.join(",")} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(r.attempted).toBe(RESTART_COUNT);
    expect(r.confirmed).toBeGreaterThan(1800);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 300_000);
});

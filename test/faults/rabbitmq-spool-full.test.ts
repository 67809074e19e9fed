/**
 * Fault (issue 7, proof 4): the spool fills while RabbitMQ is unreachable
 * (the producer's TCP proxy refuses and resets; spool maxMessages 200).
 * With `whenFull: "reject"`, publishes beyond the bound reject at once with
 * SpoolFullError (MISSIVE_SPOOL_FULL); the spooled ones all arrive once the
 * broker is back, the rejected ones never. With `whenFull: "wait"`, the
 * publishes beyond the bound wait (backpressure: none settles while the
 * spool is full) and complete once the broker is back: nothing rejected,
 * nothing lost, each key in publish order. A burst bigger than the spool,
 * in flight as one batch when the outage is noticed, is not spooled in part
 * (a batch goes to the spool whole): it waits on the broker and is
 * confirmed once it is back.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OrderPlaced } from "../conformance/contracts.js";
import { createChecker } from "../support/checker.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitFor } from "../support/wait.js";
import { openBus, rabbitmqFaults, viaPort } from "./rabbitmq-fault-support.js";
import { consumeAll, countDeliveries, GROUP, rabbitmqChild, recordOutcomes, spoolPublisher, startSpoolProducer, tally } from "./spool-fault-support.js";

const fx = rabbitmqFaults();
const BOUND = 200;

async function setUp(whenFull: "wait" | "reject") {
  const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
  fx.defer(() => proxy.stop());
  const { bus: setup } = await openBus(fx, { url: fx.vhost().url });
  await setup.declare(OrderPlaced, GROUP);
  const producer = await startSpoolProducer({
    transport: { rabbitmq: rabbitmqChild(viaPort(fx.vhost().url, proxy.port)) },
    publisher: spoolPublisher(join(fx.dir(), "producer.spool.db"), { maxMessages: BOUND, whenFull }),
  });
  await proxy.refuse();
  proxy.reset();
  return { proxy, setup, producer };
}

describe("faults - rabbitmq spool full", () => {
  it("faults - rabbitmq spool: full with whenFull reject: SpoolFullError beyond the bound, the spooled ones arrive, the rejected ones never", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const { proxy, setup, producer } = await setUp("reject");
    const published = await producer.publish({ count: 300, keys: 10, keyPrefix: "k", window: 10 }, 60_000);
    const full = await producer.status();
    await proxy.pass();
    const status = await producer.drained(60_000);
    const spooled = new Set(producer.outcomes.filter((o) => o.result === "spooled").map((o) => o.id));
    const delivered = await consumeAll(setup, spooled, 60_000, 2000);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    const rejected = producer.outcomes.filter((o) => o.result === "rejected");
    console.log(`[fault] rabbitmq spool full (reject): published=300 bound=${BOUND} spooled=${t.spooled} confirmed=${t.confirmed} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} first_rejected_seq=${rejected[0]?.seq} spool_depth_when_full=${full.spool?.messages} delivered_distinct=${counts.distinct} duplicates=${counts.duplicates} lost=${r.lost.length} rejected_and_delivered=${r.rejectedButDelivered.length} order_violations=${counts.orderViolations} parked=${status.spool?.parked} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(published).toEqual({ confirmed: 0, spooled: BOUND, rejected: 300 - BOUND });
    expect(full.spool?.messages).toBe(BOUND);
    for (const o of rejected) expect(`${o.name}/${o.code}`).toBe("SpoolFullError/MISSIVE_SPOOL_FULL");
    expect(counts.distinct).toBe(BOUND);
    expect(r.lost).toEqual([]);
    expect(r.rejectedButDelivered).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 90_000);

  it("faults - rabbitmq spool: full with whenFull wait: publishes beyond the bound wait, then complete once the broker is back; nothing lost", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const { proxy, setup, producer } = await setUp("wait");
    const run = producer.publish({ count: 500, keys: 10, keyPrefix: "k", window: 50 }, 60_000);
    await waitFor(() => producer.outcomes.length >= BOUND - 50, 20_000, "the spool to fill");
    await sleep(1000);
    const settledWhenFull = producer.outcomes.length;
    await sleep(1500);
    const settledWhileFull = producer.outcomes.length;
    const full = await producer.status();
    const backAt = Date.now();
    await proxy.pass();
    const published = await run;
    const completedMs = Date.now() - backAt;
    const status = await producer.drained(60_000);
    const promised = new Set(producer.outcomes.filter((o) => o.result !== "rejected").map((o) => o.id));
    const delivered = await consumeAll(setup, promised, 60_000);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    console.log(`[fault] rabbitmq spool full (wait): published=500 bound=${BOUND} settled_when_full=${settledWhenFull} settled_1500ms_later=${settledWhileFull} spool_depth_when_full=${full.spool?.messages} waited_ms_after_broker_back=${completedMs} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} delivered_distinct=${counts.distinct} duplicates=${counts.duplicates} lost=${r.lost.length} order_violations=${counts.orderViolations} parked=${status.spool?.parked} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(settledWhileFull).toBe(settledWhenFull); // backpressure: the rest waited
    expect(settledWhileFull).toBeGreaterThan(BOUND - 50); // a waiting chunk holds at most a window of publishes
    expect(full.spool?.messages).toBe(settledWhileFull);
    expect(full.spool?.messages).toBeLessThanOrEqual(BOUND);
    expect(published.rejected).toBe(0);
    expect(published.confirmed + published.spooled).toBe(500);
    expect(counts.distinct).toBe(500);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 90_000);

  it("faults - rabbitmq spool: a burst bigger than the spool, in flight when the outage is noticed, is never spooled in part: it waits on the broker and is confirmed once it is back; nothing lost", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const { proxy, setup, producer } = await setUp("wait");
    const run = producer.publish({ count: 500, keys: 10, keyPrefix: "k", window: 500 }, 60_000);
    await waitFor(() => producer.events.some((e) => e.type === "broker" && e.state === "down"), 10_000, "the outage to be noticed");
    await sleep(2500);
    const settledWhileDown = producer.outcomes.length;
    const down = await producer.status();
    const backAt = Date.now();
    await proxy.pass();
    const published = await run;
    const completedMs = Date.now() - backAt;
    const status = await producer.drained(60_000);
    const promised = new Set(producer.outcomes.filter((o) => o.result !== "rejected").map((o) => o.id));
    const delivered = await consumeAll(setup, promised, 60_000);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    console.log(`[fault] rabbitmq spool burst > spool (wait): published=500 bound=${BOUND} settled_while_down=${settledWhileDown} spool_depth_while_down=${down.spool?.messages} completed_ms_after_broker_back=${completedMs} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} delivered_distinct=${counts.distinct} duplicates=${counts.duplicates} lost=${r.lost.length} order_violations=${counts.orderViolations} parked=${status.spool?.parked} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(settledWhileDown).toBe(0);
    expect(down.spool?.messages).toBe(0);
    expect(published).toEqual({ confirmed: 500, spooled: 0, rejected: 0 });
    expect(counts.distinct).toBe(500);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 90_000);
});

/**
 * Fault (issue 7, proof 2): the spool producer's connection reset (RST both
 * ways, through the TCP proxy) every 300 ms during a 10,000-message stream
 * (about 1,000 a second, up to 200 in flight, 20 keys). Resets alone never reach the outage
 * bound (the producer reconnects within a few hundred ms and every publish
 * is confirmed; rabbitmq-publish-reset.test.ts covers that), so every fifth
 * reset also leaves the broker unreachable for 1.5 s (the proxy refuses):
 * outages are detected, publishes are spooled and flushed while the resets
 * go on. Each publish resolves confirmed or spooled (or rejects); once the
 * spool has drained, every confirmed or spooled id is in the group (lost 0),
 * no rejected one is (rejected and delivered 0), and each key's first
 * deliveries come in publish call order. Duplicates (a confirm lost with a
 * reset, the message sent again under its id) are tolerated and counted.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OrderPlaced } from "../conformance/contracts.js";
import { createChecker } from "../support/checker.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep } from "../support/wait.js";
import { openBus, rabbitmqFaults, viaPort } from "./rabbitmq-fault-support.js";
import { consumeAll, countDeliveries, downEvents, downMs, GROUP, rabbitmqChild, recordOutcomes, spoolPublisher, startSpoolProducer, tally } from "./spool-fault-support.js";

const fx = rabbitmqFaults();
const COUNT = 10_000;

describe("faults - rabbitmq spool under connection resets", () => {
  it("faults - rabbitmq spool: connection reset every 300 ms (every fifth also unreachable for 1.5 s) during a 10,000-message stream: lost 0, rejected and delivered 0, key order kept", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    fx.defer(() => proxy.stop());
    const { bus: setup } = await openBus(fx, { url: fx.vhost().url });
    await setup.declare(OrderPlaced, GROUP);
    const producer = await startSpoolProducer({
      transport: { rabbitmq: rabbitmqChild(viaPort(fx.vhost().url, proxy.port)) },
      publisher: spoolPublisher(join(fx.dir(), "producer.spool.db")),
    });

    const streamStart = Date.now();
    let fired = 0;
    let cuts = 0;
    let cut: Promise<void> = Promise.resolve();
    const resets = setInterval(() => {
      fired++;
      proxy.reset();
      if (fired % 5 !== 0) return;
      cuts++;
      cut = (async () => {
        await proxy.refuse();
        await sleep(1500);
        await proxy.pass();
      })();
    }, 300);
    const published = await producer.publish({ count: COUNT, keys: 20, keyPrefix: "k", window: 200, intervalMs: 1 }, 120_000);
    clearInterval(resets);
    await cut;
    const streamMs = Date.now() - streamStart;
    const status = await producer.drained(60_000);
    const promised = new Set(producer.outcomes.filter((o) => o.result !== "rejected").map((o) => o.id));
    const delivered = await consumeAll(setup, promised, 60_000);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    console.log(`[fault] rabbitmq spool resets: published=${COUNT} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} resets=${fired} unreachable_1500ms=${cuts} connections=${proxy.stats.accepted} outages=${downEvents(producer.events, 0).all} down_ms=${downMs(producer.events)} stream_ms=${streamMs} delivered_distinct=${counts.distinct} deliveries=${counts.deliveries} duplicates=${counts.duplicates} lost=${r.lost.length} rejected_and_delivered=${r.rejectedButDelivered.length} order_violations=${counts.orderViolations} ${counts.violationSamples.join("; ")} parked=${status.spool?.parked} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(fired).toBeGreaterThanOrEqual(3); // the stream really ran under resets
    expect(proxy.stats.accepted).toBeGreaterThan(1); // and the producer reconnected through them
    expect(cuts).toBeGreaterThanOrEqual(1);
    expect(producer.outcomes).toHaveLength(COUNT);
    expect(published.spooled).toBeGreaterThan(0); // outages were detected and the spool took publishes
    expect(published.confirmed).toBeGreaterThan(0);
    expect(published.confirmed + published.spooled + published.rejected).toBe(COUNT);
    expect(status.spool?.parked).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.rejectedButDelivered).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 150_000);
});

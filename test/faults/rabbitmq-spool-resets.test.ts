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
import { describe, expect, it } from "vitest";
import { createChecker } from "../support/checker.js";
import { sleep } from "../support/wait.js";
import { rabbitmqFaults } from "./rabbitmq-fault-support.js";
import { downEvents, downMs, startSpoolProducer } from "./spool-fault-support.js";
import { rabbitmqWorld } from "./spool-fault-worlds.js";
import { expectKept, runReport } from "./spool-scenarios.js";

const fx = rabbitmqFaults();
const COUNT = 10_000;

describe("faults - rabbitmq spool under connection resets", () => {
  it("faults - rabbitmq spool: connection reset every 300 ms (every fifth also unreachable for 1.5 s) during a 10,000-message stream: lost 0, rejected and delivered 0, key order kept", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const world = await rabbitmqWorld(fx);
    const { proxy } = world;
    const producer = await startSpoolProducer(world.producerArgs());

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
    const delivered = await world.delivered(promised, producer.outcomes);

    const report = runReport(createChecker(), producer.outcomes, delivered);
    console.log(`[fault] rabbitmq spool resets: published=${COUNT} resets=${fired} unreachable_1500ms=${cuts} connections=${proxy.stats.accepted} outages=${downEvents(producer.events, 0).all} down_ms=${downMs(producer.events)} stream_ms=${streamMs} parked=${status.spool?.parked} ${report.line} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(fired).toBeGreaterThanOrEqual(3); // the stream really ran under resets
    expect(proxy.stats.accepted).toBeGreaterThan(1); // and the producer reconnected through them
    expect(cuts).toBeGreaterThanOrEqual(1);
    expect(producer.outcomes).toHaveLength(COUNT);
    expect(published.spooled).toBeGreaterThan(0); // outages were detected and the spool took publishes
    expect(published.confirmed).toBeGreaterThan(0);
    expect(published.confirmed + published.spooled + published.rejected).toBe(COUNT);
    expect(status.spool?.parked).toBe(0);
    expectKept(report);
  }, 150_000);
});

/**
 * Fault (issue 7, proof 3): a 10 s blackhole (the TCP proxy drops every
 * byte, both ways, and strands new connections) during a paced publish
 * stream of the spool producer (outageAfter 1 s, heartbeat 1 s). The outage
 * is noticed within the bound (the `broker: down` event at most outageAfter
 * + 2 s after the blackhole began, none before it); every publish called
 * during the blackhole resolves `spooled`, without waiting much longer than
 * the bound; after the network heals (no reset: a reconnect stranded in the
 * blackhole gives up after connectTimeoutMs) the spool drains and every
 * confirmed or spooled id reaches the group, each key in publish order.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OrderPlaced } from "../conformance/contracts.js";
import { createChecker } from "../support/checker.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep } from "../support/wait.js";
import { openBus, rabbitmqFaults, viaPort } from "./rabbitmq-fault-support.js";
import {
  consumeAll, countDeliveries, downEvents, eventLine, GROUP, OUTAGE_AFTER_MS, rabbitmqChild, recordOutcomes, spoolPublisher, startSpoolProducer, tally,
} from "./spool-fault-support.js";

const fx = rabbitmqFaults();
const BLACKHOLE_MS = 10_000;
/** Slack on the outage bound: timers and IPC on a busy 2-core machine. */
const SLACK_MS = 2000;

describe("faults - rabbitmq spool through a blackhole", () => {
  it("faults - rabbitmq spool: a 10 s blackhole during a publish stream: noticed within outageAfter, publishes spooled, all arrive afterwards", async ({ skip }) => {
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

    // 200 publishes a second for 14 s: 1.5 s before the blackhole, 10 s in it, 2.5 s after.
    const stream = producer.publish({ count: 2800, keys: 20, keyPrefix: "k", window: 1000, intervalMs: 5 }, 120_000);
    await sleep(1500);
    const holeAt = Date.now();
    await proxy.blackhole();
    await sleep(BLACKHOLE_MS);
    const healedAt = Date.now();
    await proxy.pass();
    const published = await stream;
    const status = await producer.drained(60_000);
    const promised = new Set(producer.outcomes.filter((o) => o.result !== "rejected").map((o) => o.id));
    const delivered = await consumeAll(setup, promised, 60_000);

    recordOutcomes(checker, producer.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(producer.outcomes);
    const down = downEvents(producer.events, holeAt);
    const during = producer.outcomes.filter((o) => o.calledAt > holeAt && o.calledAt < healedAt);
    const duringTally = tally(during);
    const slowest = Math.max(...during.map((o) => o.settledAt - o.calledAt));
    const upAt = producer.events.find((e) => e.type === "broker" && e.state === "up" && e.at >= healedAt)?.at;
    console.log(`[fault] rabbitmq spool blackhole: published=${producer.outcomes.length} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} down_after_ms=${down.first === undefined ? "none" : down.first - holeAt} (bound ${OUTAGE_AFTER_MS}+${SLACK_MS}) downs_before_blackhole=${down.before} during_blackhole=${during.length} during_spooled=${duringTally.spooled} during_confirmed=${duringTally.confirmed} during_rejected=${duringTally.rejected} during_slowest_settle_ms=${slowest} up_after_heal_ms=${upAt === undefined ? "none" : upAt - healedAt} connections=${proxy.stats.accepted} delivered_distinct=${counts.distinct} deliveries=${counts.deliveries} duplicates=${counts.duplicates} lost=${r.lost.length} order_violations=${counts.orderViolations} ${counts.violationSamples.join("; ")} parked=${status.spool?.parked} events=${eventLine(producer.events, holeAt)} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(published.rejected).toBe(0);
    expect(down.before).toBe(0);
    expect(down.first).toBeDefined();
    expect(down.first! - holeAt).toBeLessThanOrEqual(OUTAGE_AFTER_MS + SLACK_MS);
    expect(during.length).toBeGreaterThan(1000);
    expect(duringTally.spooled).toBe(during.length);
    expect(slowest).toBeLessThanOrEqual(OUTAGE_AFTER_MS + SLACK_MS);
    expect(status.spool?.parked).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.distinct).toBe(promised.size);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 120_000);
});

/**
 * Fault (issue 7, proof 1): RabbitMQ unreachable (the producer's TCP proxy
 * refuses and resets), 1,000 publishes: each resolves `spooled`. The
 * producer process is SIGKILLed; its spool file holds the 1,000 rows. The
 * broker comes back, a new producer process opens the same spool file and
 * flushes it on start: 1,000 of 1,000 distinct ids reach the group, none
 * twice (nothing reached the broker before), each key in publish order.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { createChecker } from "../support/checker.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { openBus, rabbitmqFaults, viaPort } from "./rabbitmq-fault-support.js";
import { consumeAll, countDeliveries, downEvents, eventLine, GROUP, rabbitmqChild, recordOutcomes, spoolPublisher, startSpoolProducer, tally } from "./spool-fault-support.js";

const fx = rabbitmqFaults();
const COUNT = 1000;

describe("faults - rabbitmq spool across a producer restart", () => {
  it("faults - rabbitmq spool: broker unreachable, 1,000 publishes spooled, producer SIGKILLed, broker back, producer restarted: 1,000 of 1,000 arrive", async ({ skip }) => {
    if (fx.skip()) return skip();
    const started = Date.now();
    const checker = createChecker();
    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    fx.defer(() => proxy.stop());
    const { bus: setup } = await openBus(fx, { url: fx.vhost().url });
    await setup.declare(OrderPlaced, GROUP);
    const spoolPath = join(fx.dir(), "producer.spool.db");
    const args = { transport: { rabbitmq: rabbitmqChild(viaPort(fx.vhost().url, proxy.port)) }, publisher: spoolPublisher(spoolPath) };

    const first = await startSpoolProducer(args);
    const cutAt = Date.now();
    await proxy.refuse();
    proxy.reset();
    const published = await first.publish({ count: COUNT, keys: 10, keyPrefix: "k", window: 100 }, 60_000);
    await first.kill();
    const file = openSqliteSpool({ path: spoolPath, readonly: true });
    const rowsAfterKill = file.depth().messages;
    file.close();

    await proxy.pass();
    const backAt = Date.now();
    const second = await startSpoolProducer(args);
    const status = await second.drained(60_000);
    const drainedMs = Date.now() - backAt;
    const spooledIds = new Set(first.outcomes.filter((o) => o.result === "spooled").map((o) => o.id));
    const delivered = await consumeAll(setup, spooledIds, 60_000);

    recordOutcomes(checker, first.outcomes);
    const counts = countDeliveries(delivered, checker);
    const r = checker.check();
    const t = tally(first.outcomes);
    const down = downEvents(first.events, cutAt);
    console.log(`[fault] rabbitmq spool restart: published=${COUNT} confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} spool_rows_after_sigkill=${rowsAfterKill} down_after_ms=${down.first === undefined ? "none" : down.first - cutAt} flushed_by_restart_in_ms=${drainedMs} delivered_distinct=${counts.distinct} deliveries=${counts.deliveries} duplicates=${counts.duplicates} order_violations=${counts.orderViolations} parked=${status.spool?.parked} events1=${eventLine(first.events, cutAt)} events2=${eventLine(second.events, backAt)} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(published).toEqual({ confirmed: 0, spooled: COUNT, rejected: 0 });
    expect(rowsAfterKill).toBe(COUNT);
    expect(status.spool?.parked).toBe(0);
    expect(counts.distinct).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(counts.duplicates).toBe(0);
    expect(counts.violationSamples).toEqual([]);
    expect(counts.orderViolations).toBe(0);
  }, 120_000);
});

/**
 * Fault (regression, failing until fixed): concurrent publishes of ONE key,
 * in flight in several batches when the connection is lost, must reach the
 * broker in call order (docs/adr/004: "Publishes in call order"). Each batch
 * is written, its bytes blackholed (so no confirm and no copy reaches the
 * broker), then the connection is reset: every batch fails at once, and each
 * re-enters the write phase on its own jittered timer (publisher.ts, the
 * retry sleep in `publish`), so the key's messages arrive shuffled. Counted
 * through an ordered consumer with the inbox: lost 0, double effects 0, and
 * per-key order violations, which must be 0.
 */
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { createChecker } from "../support/checker.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep } from "../support/wait.js";
import { consumeOrdered, effectsFile, GROUP, openBus, rabbitmqFaults, readBack, settled, viaPort } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults();
const BATCH = 4;
const IN_FLIGHT = 8;

describe("faults - rabbitmq publish order across a connection loss", () => {
  it("faults - rabbitmq: concurrent publishes of one key, in flight in 8 batches when the connection resets, keep their call order", async ({ skip }) => {
    if (fx.skip()) return skip();
    const checker = createChecker();
    const { path, effects } = effectsFile(fx);
    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    fx.defer(() => proxy.stop());
    const { bus: producer } = await openBus(fx, { url: viaPort(fx.vhost().url, proxy.port) }, undefined, {
      publisher: { maxBatch: BATCH, maxInFlightBatches: IN_FLIGHT, timeout: "60s" },
    });
    await producer.declare(OrderPlaced, GROUP);
    const confirmedIds: string[] = [];
    const publish = (seq: number): Promise<void> => {
      const id = uuidv7();
      checker.attempted(id);
      return producer.publish(OrderPlaced, { orderId: "k0", seq, totalCents: 1 }, { id }).then(
        () => void (checker.confirmed(id), confirmedIds.push(id)),
        (err: unknown) => checker.rejected(id, err),
      );
    };
    await publish(0); // the confirm channel is open before the fault

    // Every batch written into a blackhole: none confirmed, none on the broker.
    await proxy.blackhole();
    const calls = Array.from({ length: BATCH * IN_FLIGHT }, (_, i) => publish(i + 1));
    await sleep(500);
    await proxy.pass();
    proxy.reset();
    await Promise.all(calls);

    const { bus: consumer } = await openBus(fx, { url: fx.vhost().url }, effects);
    await consumeOrdered(consumer, effects, checker);
    const drained = await settled(path, confirmedIds, 30_000);
    const back = readBack(path, checker);
    const r = checker.check();
    console.log(`[fault] rabbitmq publish order: connections=${proxy.stats.accepted} dropped_bytes=${proxy.stats.bytesDropped} drained=${drained} order_violations=${back.orderViolations} ${back.violationSamples.join("; ")} ${checker.summary()}`);
    expect(proxy.stats.bytesDropped).toBeGreaterThan(0); // the batches really were in flight
    expect(r.confirmed).toBe(BATCH * IN_FLIGHT + 1);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 60_000);
});

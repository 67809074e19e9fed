/**
 * Two batches in flight (the default), the later one fails first with an
 * error that is not an outage, then the earlier one fails too. The spool
 * must hold the earlier batch's messages ahead of the later one's, or the
 * flush would reorder their keys. Over the memory transport behind a gate
 * the test opens per publish call.
 */
import { describe, expect, it } from "vitest";
import { ConnectionError, TransientError, missive, type OutgoingMessage, type PublishResult, type Transport } from "../../src/index.js";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { receiveAtLeast } from "../support/receive.js";
import { spoolFiles } from "../support/spool-files.js";
import { waitFor } from "../support/wait.js";

interface Call {
  readonly batch: readonly OutgoingMessage[];
  fail(err: Error): void;
  pass(): void;
}

/** Every publish waits until the test settles its call, or until `open()`. */
function gated(inner: Transport): Transport & { calls: Call[]; open(): void } {
  const calls: Call[] = [];
  let opened = false;
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    calls,
    open() {
      opened = true;
      for (const c of calls.splice(0)) c.pass();
    },
    connect: () => inner.connect(),
    bind: (group, topics) => inner.bind(group, topics),
    subscribe: (options) => inner.subscribe(options),
    close: () => inner.close(),
    publish: (batch) => opened ? inner.publish(batch) : new Promise<PublishResult[]>((resolve, reject) => {
      calls.push({ batch, fail: reject, pass: () => void inner.publish(batch).then(resolve, reject) });
    }),
  };
}

const { spoolPath, keep } = spoolFiles("spool-order", 200);

describe("producer spool order", () => {
  it("spool order - the later of two batches in flight fails first (not an outage), then the earlier: the spool holds the earlier batch first", async () => {
    const path = spoolPath();
    const t = gated(createMemoryBroker().transport());
    const bus = await missive({
      service: "spool-order",
      transport: t,
      publisher: { spool: path, maxBatch: 3, maxInFlightBatches: 2, outageAfter: "60s", retryBase: "5ms", retryMax: "10ms", breaker: { threshold: 10 } },
    });
    keep(bus);
    await bus.declare(OrderPlaced, "billing");
    // Six publishes of one key in one turn: batch 1 holds seq 0-2, batch 2 seq 3-5.
    const receipts = Array.from({ length: 6 }, (_, seq) => bus.publish(OrderPlaced, { orderId: "k", seq, totalCents: seq }));
    await waitFor(() => t.calls.length === 2, 2000, "two batches in flight");
    t.calls[1]!.fail(new TransientError("batch 2 refused for now"));
    await new Promise((r) => setTimeout(r, 50));
    t.calls[0]!.fail(new ConnectionError("batch 1 lost with its connection"));
    const outcomes = await Promise.all(receipts);
    expect(outcomes.map((r) => r.outcome)).toEqual(Array(6).fill("spooled"));

    const spool = openSqliteSpool({ path, readonly: true });
    const spooledOrder = spool.peek(10).map((m) => m.message.id);
    spool.close();
    // The broker answers again (before asserting, so a failure does not leave the bus hanging on the gate).
    t.open();
    expect(spooledOrder).toEqual(outcomes.map((r) => r.id));
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "the spool flushed");
    expect(bus.status().spool?.parked).toBe(0);
    const sub = await t.subscribe({ group: "billing", topics: [OrderPlaced.type], prefetch: 20, ordered: false, leaseMs: 30_000 });
    const got = await receiveAtLeast(sub, 6, 5000);
    await sub.close();
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(outcomes.map((r) => r.id));
  });
});

/** The delay fill's parts, without a broker: the due-time heap, the held subscription, the decorator's honesty. */
import { describe, expect, it } from "vitest";
import { noopLogger } from "../../src/observability/logger.js";
import { canInspectQueues, hasNativeDeadLetters } from "../../src/transport/abilities.js";
import type { Delivery, Subscription } from "../../src/transport/transport.js";
import { withRuntimeDelay } from "../../src/runtime/delay-fill.js";
import { acceptsDelayedPublish, delaysInRuntime, NOT_BEFORE_HEADER, retriesThroughTransport } from "../../src/runtime/delay-support.js";
import { DelayedSubscription } from "../../src/runtime/delayed-subscription.js";
import { DueHeap } from "../../src/runtime/due-heap.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";

function fakeDelivery(name: string, notBefore: number | undefined, released: string[]): Delivery {
  const headers: Record<string, string> = { "ce-id": name };
  if (notBefore !== undefined) headers[NOT_BEFORE_HEADER] = String(notBefore);
  return {
    topic: "t", group: "g", key: undefined, attempt: 1, wire: { headers, body: new Uint8Array() },
    ack: async () => undefined, retry: async () => undefined, deadLetter: async () => undefined,
    release: async () => void released.push(name),
  };
}

/** An inner subscription that hands out `queue` once, then answers [] at once (against the seam's contract). */
function hastyInner(queue: Delivery[]): Subscription & { calls: number } {
  const inner = {
    calls: 0,
    receive: async (max: number): Promise<Delivery[]> => {
      inner.calls++;
      return queue.splice(0, max);
    },
    close: async () => undefined,
  };
  return inner;
}

const options = { group: "g", topics: ["t"], prefetch: 4, ordered: false, leaseMs: 1000 };
const nameOf = (d: Delivery): string => d.wire.headers["ce-id"]!;

describe("delay fill - parts", () => {
  it("due heap - earliest due first, ties in insertion order, nothing before it is due", () => {
    const heap = new DueHeap<string>();
    for (const [due, item] of [[30, "c"], [10, "a1"], [20, "b"], [10, "a2"], [40, "d"]] as const) heap.push(due, item);
    expect(heap.nextDueAt()).toBe(10);
    expect(heap.popDue(5)).toBeUndefined();
    const out: string[] = [];
    for (let x = heap.popDue(30); x !== undefined; x = heap.popDue(30)) out.push(x);
    expect(out).toEqual(["a1", "a2", "b", "c"]);
    expect(heap.size).toBe(1);
    expect(heap.drain()).toEqual(["d"]);
    expect(heap.nextDueAt()).toBe(Number.POSITIVE_INFINITY);
  });

  it("held subscription - hands out due and undelayed messages at once and holds future ones until due", async () => {
    const released: string[] = [];
    const now = Date.now();
    const inner = hastyInner([fakeDelivery("later", now + 300, released), fakeDelivery("now", undefined, released), fakeDelivery("past", now - 5, released)]);
    const sub = new DelayedSubscription(inner, options, (d) => d, noopLogger);
    expect((await sub.receive(10, 1000)).map(nameOf)).toEqual(["now", "past"]);
    const t0 = Date.now();
    const later = await sub.receive(10, 2000);
    expect(later.map(nameOf)).toEqual(["later"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await sub.close();
    expect(released).toEqual([]);
  });

  it("held subscription - an inner receive that answers [] at once does not make it spin", async () => {
    const released: string[] = [];
    const inner = hastyInner([fakeDelivery("far", Date.now() + 60_000, released)]);
    const sub = new DelayedSubscription(inner, options, (d) => d, noopLogger);
    const t0 = Date.now();
    expect(await sub.receive(10, 300)).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    // One receive that brought the held message, one that came back empty; then only the clock.
    expect(inner.calls).toBeLessThanOrEqual(3);
    await sub.close();
    expect(released).toEqual(["far"]);
  });

  it("held subscription - close ends a waiting receive and gives back what it holds", async () => {
    const released: string[] = [];
    const inner = hastyInner([fakeDelivery("far", Date.now() + 60_000, released), fakeDelivery("far2", Date.now() + 60_000, released)]);
    const sub = new DelayedSubscription(inner, options, (d) => d, noopLogger);
    const waiting = sub.receive(10, 60_000);
    await new Promise((r) => setTimeout(r, 50));
    await sub.close();
    expect(await waiting).toEqual([]);
    expect(released.sort()).toEqual(["far", "far2"]);
  });

  it("decorator - capabilities stay the broker's, every ability is forwarded, and the runtime knows who delays", async () => {
    const raw = createMemoryBroker().transport({ capabilities: { nativeDelay: false } });
    const t = withRuntimeDelay(raw, noopLogger);
    expect(t.capabilities).toBe(raw.capabilities);
    expect(t.capabilities.nativeDelay).toBe(false);
    expect(canInspectQueues(t)).toBe(true);
    expect(hasNativeDeadLetters(t)).toBe(true);
    expect(delaysInRuntime(t)).toBe(true);
    expect(delaysInRuntime(raw)).toBe(false);
    expect(acceptsDelayedPublish(t)).toBe(true);
    expect(acceptsDelayedPublish(raw)).toBe(false);
    expect(retriesThroughTransport(t, false)).toBe(true);
    // A republished retry lands behind later messages of its key: ordered consumers retry in-process.
    expect(retriesThroughTransport(t, true)).toBe(false);
    expect(retriesThroughTransport(raw, false)).toBe(false);
    await t.close();
  });
});

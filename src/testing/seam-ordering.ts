/**
 * `ordering: "key"` (TransportCapabilities): no message of a key is handed
 * out while an earlier one of the same key in the group is unsettled or
 * scheduled for retry, across every consumer of the group; other keys and
 * unkeyed messages go on.
 */
import { expect, it } from "vitest";
import type { Delivery, Subscription } from "../transport/transport.js";
import type { SeamContext } from "./seam-context.js";
import { bodies, bodyOf, message, receiveExactly } from "./seam-helpers.js";

/** What both subscriptions hand out within `waitMs` (a negative check: a slow machine can only make it pass). */
async function drainBoth(one: Subscription, two: Subscription, waitMs: number): Promise<Delivery[]> {
  const [a, b] = await Promise.all([one.receive(10, waitMs), two.receive(10, waitMs)]);
  return [...a, ...b];
}

/** Deliveries from either subscription until `count` arrived or `waitMs` passed. */
async function receiveFromEither(one: Subscription, two: Subscription, count: number, waitMs = 10_000): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const deadline = Date.now() + waitMs;
  while (got.length < count && Date.now() < deadline) got.push(...(await drainBoth(one, two, 200)));
  return got;
}

export function orderingTests(s: SeamContext): void {
  const f = s.features;

  it("seam - ordering key: a key's next message waits while its head is unsettled, across two consumers; other keys go on", async () => {
    const [group, topic] = [s.name("g"), s.name("ordered")];
    const one = await s.subscribe(await s.open(), group, [topic]);
    const two = await s.subscribe(await s.open(), group, [topic]);
    const t = await s.open();
    await t.publish([message(topic, "a1", "A"), message(topic, "a2", "A"), message(topic, "b1", "B"), message(topic, "u1")]);
    // Which consumer gets a key is the transport's choice (a shared queue, or a partition per consumer).
    const first = await receiveFromEither(one, two, 3);
    expect(bodies(first).sort()).toEqual(["a1", "b1", "u1"]);
    expect(await drainBoth(one, two, 500)).toEqual([]);
    await t.publish([message(topic, "b2", "B")]);
    for (const d of first) if (bodyOf(d) !== "a1") await d.ack();
    // B moves on while A's head is still held.
    const next = await receiveFromEither(one, two, 1);
    expect(bodies(next)).toEqual(["b2"]);
    await next[0]!.ack();
    expect(await drainBoth(one, two, 300)).toEqual([]);
    await first.find((d) => bodyOf(d) === "a1")!.ack();
    const [a2] = await receiveFromEither(one, two, 1);
    expect(bodyOf(a2!)).toBe("a2");
    await a2!.ack();
  });

  if (f.nativeDelay) {
    it("seam - ordering key: a retry scheduled for later holds back its key, not the others, and comes back before the key's next message", async () => {
      const [group, topic] = [s.name("g"), s.name("ordered-retry")];
      const one = await s.subscribe(await s.open(), group, [topic]);
      const two = await s.subscribe(await s.open(), group, [topic]);
      const t = await s.open();
      await t.publish([message(topic, "a1", "A"), message(topic, "a2", "A")]);
      // Which consumer holds key A is the transport's choice: `holder` got a1, `other` is the second one.
      const fromOne = await one.receive(1, 5_000);
      const [holder, other] = fromOne.length > 0 ? [one, two] : [two, one];
      const [a1] = fromOne.length > 0 ? fromOne : await receiveExactly(two, 1);
      expect(bodyOf(a1!)).toBe("a1");
      await a1!.retry(1_500, { ...a1!.wire.headers, "x-retry": "1" });
      await t.publish([message(topic, "c1", "C")]);
      const [c1] = await receiveFromEither(one, two, 1);
      expect(bodyOf(c1!)).toBe("c1");
      await c1!.ack();
      // While a1 waits for its retry, a2 is handed to nobody (a1 itself may come back on a slow machine).
      const early = await drainBoth(one, two, 300);
      expect(bodies(early)).not.toContain("a2");
      await other.close();
      const order: string[] = [];
      for (const d of early) {
        order.push(bodyOf(d));
        expect(d.wire.headers["x-retry"]).toBe("1");
        await d.ack();
      }
      while (order.length < 2) {
        const [d] = await receiveExactly(holder, 1, 20_000);
        if (order.length === 0) expect(d!.wire.headers["x-retry"]).toBe("1");
        order.push(bodyOf(d!));
        await d!.ack();
      }
      expect(order).toEqual(["a1", "a2"]);
    });
  }
}

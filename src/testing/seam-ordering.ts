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

export function orderingTests(s: SeamContext): void {
  const f = s.features;

  it("seam - ordering key: a key's next message waits while its head is unsettled, across two consumers; other keys go on", async () => {
    const [group, topic] = [s.name("g"), s.name("ordered")];
    const one = await s.subscribe(await s.open(), group, [topic]);
    const two = await s.subscribe(await s.open(), group, [topic]);
    const t = await s.open();
    await t.publish([message(topic, "a1", "A"), message(topic, "a2", "A"), message(topic, "b1", "B"), message(topic, "u1")]);
    const [head] = await receiveExactly(one, 1);
    expect(bodyOf(head!)).toBe("a1");
    const rest = await receiveExactly(two, 2);
    expect(bodies(rest).sort()).toEqual(["b1", "u1"]);
    expect(await drainBoth(one, two, 500)).toEqual([]);
    await t.publish([message(topic, "b2", "B")]);
    await rest.find((d) => bodyOf(d) === "b1")!.ack();
    // B moves on while A's head is still held.
    const next = await receiveExactly(one, 1);
    expect(bodies(next)).toEqual(["b2"]);
    await next[0]!.ack();
    expect(await drainBoth(one, two, 300)).toEqual([]);
    await head!.ack();
    const [a2] = await receiveExactly(two, 1);
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
      const [a1] = await receiveExactly(one, 1);
      await a1!.retry(1_500, { ...a1!.wire.headers, "x-retry": "1" });
      await t.publish([message(topic, "c1", "C")]);
      const [c1] = await receiveExactly(two, 1);
      expect(bodyOf(c1!)).toBe("c1");
      await c1!.ack();
      // While a1 waits for its retry, a2 is handed to nobody (a1 itself may come back on a slow machine).
      const early = await drainBoth(one, two, 300);
      expect(bodies(early)).not.toContain("a2");
      await two.close();
      const order: string[] = [];
      for (const d of early) {
        order.push(bodyOf(d));
        expect(d.wire.headers["x-retry"]).toBe("1");
        await d.ack();
      }
      while (order.length < 2) {
        const [d] = await receiveExactly(one, 1, 20_000);
        if (order.length === 0) expect(d!.wire.headers["x-retry"]).toBe("1");
        order.push(bodyOf(d!));
        await d!.ack();
      }
      expect(order).toEqual(["a1", "a2"]);
    });
  }
}

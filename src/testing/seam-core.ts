/**
 * The core seam's promises (transport.ts): publish confirms per message,
 * routing to groups, receive's waiting and prefetch bound, ack, settle
 * once, release, close, temporary groups, and bytes kept exactly.
 */
import { expect, it } from "vitest";
import { ErrorCodes } from "../errors.js";
import type { SeamContext } from "./seam-context.js";
import { bodies, bodyOf, expectCode, message, plainHeaders, receiveExactly, sleep, waitUntil, wire } from "./seam-helpers.js";

export function coreTests(s: SeamContext): void {
  const f = s.features;

  it("seam - publish confirms, and a receive gets the message whole: topic, group, key, attempt 1, headers, body; ack removes it", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("billing"), s.name("order.created")];
    const sub = await s.subscribe(t, group, [topic]);
    const sent = message(topic, "m1", "k1");
    expect(await t.publish([sent])).toEqual([undefined]);
    const [d] = await receiveExactly(sub, 1);
    expect(d).toMatchObject({ topic, group, key: "k1", attempt: f.exactAttempts ? 1 : 0 });
    expect(plainHeaders(d!)).toEqual(plainHeaders(sent));
    expect(bodyOf(d!)).toBe("m1");
    await d!.ack();
    expect(await sub.receive(10, 300)).toEqual([]);
    const other = await s.subscribe(await s.open(), group, [topic]);
    expect(await other.receive(10, 300)).toEqual([]);
  });

  it("seam - a message no group is bound to fails alone with UnroutableError; the rest of the batch is confirmed", async () => {
    const t = await s.open();
    const [group, bound, nobody] = [s.name("g"), s.name("bound"), s.name("nobody")];
    await t.bind(group, [bound]);
    const results = await t.publish([message(bound, "a"), message(nobody, "b"), message(bound, "c", undefined, { group: s.name("missing") }), message(bound, "d")]);
    expect(results).toHaveLength(4);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatchObject({ code: ErrorCodes.UNROUTABLE });
    expect(results[2]).toMatchObject({ code: ErrorCodes.UNROUTABLE });
    expect(results[3]).toBeUndefined();
    // bind is durable: what was confirmed waits for a consumer that comes later.
    const sub = await s.subscribe(await s.open(), group, [bound], { ordered: false });
    expect(bodies(await receiveExactly(sub, 2)).sort()).toEqual(["a", "d"]);
  });

  it("seam - fan-out: every group bound to a topic gets its own copy", async () => {
    const t = await s.open();
    const [a, b, topic] = [s.name("a"), s.name("b"), s.name("fan")];
    await t.bind(a, [topic]);
    await t.bind(b, [topic]);
    expect(await t.publish(["m1", "m2", "m3"].map((id) => message(topic, id)))).toEqual([undefined, undefined, undefined]);
    for (const group of [a, b]) {
      const sub = await s.subscribe(t, group, [topic], { ordered: false });
      const got = await receiveExactly(sub, 3);
      expect(bodies(got).sort()).toEqual(["m1", "m2", "m3"]);
      for (const d of got) expect(d.group).toBe(group);
      await Promise.all(got.map((d) => d.ack()));
    }
  });

  it("seam - a message published to an explicit group reaches that group alone", async () => {
    const t = await s.open();
    const [a, b, topic] = [s.name("a"), s.name("b"), s.name("direct")];
    await t.bind(a, [topic]);
    await t.bind(b, [topic]);
    expect(await t.publish([message(topic, "only-a", undefined, { group: a })])).toEqual([undefined]);
    const subA = await s.subscribe(t, a, [topic]);
    const subB = await s.subscribe(t, b, [topic]);
    expect(bodies(await receiveExactly(subA, 1))).toEqual(["only-a"]);
    expect(await subB.receive(10, 300)).toEqual([]);
  });

  it("seam - competing consumers split a group: each message goes to one of them", async () => {
    const [group, topic] = [s.name("workers"), s.name("job")];
    const one = await s.subscribe(await s.open(), group, [topic], { prefetch: 2, ordered: false });
    const two = await s.subscribe(await s.open(), group, [topic], { prefetch: 2, ordered: false });
    const t = await s.open();
    await t.publish(["j1", "j2", "j3", "j4"].map((id) => message(topic, id)));
    // Each holds its prefetch (2) unsettled, so the other must have the rest.
    const first = await receiveExactly(one, 2);
    const second = await receiveExactly(two, 2);
    expect([...bodies(first), ...bodies(second)].sort()).toEqual(["j1", "j2", "j3", "j4"]);
    expect(await one.receive(10, 300)).toEqual([]);
    expect(await two.receive(10, 300)).toEqual([]);
  });

  it("seam - a receive waits up to waitMs and resolves [] when nothing comes", async () => {
    const t = await s.open();
    const sub = await s.subscribe(t, s.name("g"), [s.name("quiet")]);
    const started = Date.now();
    expect(await sub.receive(10, 300)).toEqual([]);
    // Timers may fire a little early; the point is that it waited rather than returning at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("seam - a waiting receive wakes for a publish from another transport", async () => {
    const [group, topic] = [s.name("g"), s.name("wake")];
    const sub = await s.subscribe(await s.open(), group, [topic]);
    const producer = await s.open();
    const started = Date.now();
    const waiting = sub.receive(10, 30_000);
    await sleep(100);
    expect(await producer.publish([message(topic, "x")])).toEqual([undefined]);
    expect(bodies(await waiting)).toEqual(["x"]);
    // Woken by the publish, not by its deadline.
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it("seam - never more than prefetch unsettled across receive calls; a settle makes room for one more", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("bounded")];
    const sub = await s.subscribe(t, group, [topic], { prefetch: 2, ordered: false });
    await t.publish(["p1", "p2", "p3", "p4"].map((id) => message(topic, id)));
    const held = await receiveExactly(sub, 2);
    expect(await sub.receive(10, 300)).toEqual([]);
    await held[0]!.ack();
    const more = await receiveExactly(sub, 1);
    expect(await sub.receive(10, 300)).toEqual([]);
    expect(new Set([...bodies(held), ...bodies(more)]).size).toBe(3);
  });

  it("seam - settling twice is a no-op", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("twice")];
    const sub = await s.subscribe(t, group, [topic]);
    await t.publish([message(topic, "m1"), message(topic, "m2")]);
    // Unkeyed messages carry no order promise (a transport may spread them over queues): pick them by body.
    const both = await receiveExactly(sub, 2);
    const d1 = both.find((d) => bodyOf(d) === "m1");
    const d2 = both.find((d) => bodyOf(d) === "m2");
    await d1!.ack();
    await d1!.ack();
    await d1!.release();
    if (f.nativeDelay) await d1!.retry(0, { "ce-id": "m1" });
    if (f.nativeDeadLetters) await d1!.deadLetter({ "ce-id": "m1" });
    await d2!.release();
    await d2!.release();
    await d2!.ack();
    // m1 is gone for good; m2 came back once (released), then the second settle did nothing.
    const again = await receiveExactly(sub, 1);
    expect(bodies(again)).toEqual(["m2"]);
    await again[0]!.ack();
    expect(await sub.receive(10, 300)).toEqual([]);
  });

  it("seam - release gives the message back at once, headers unchanged, and the next delivery does not count it", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("released")];
    const sub = await s.subscribe(t, group, [topic]);
    const sent = message(topic, "r1", "k");
    await t.publish([sent]);
    const [first] = await receiveExactly(sub, 1);
    await first!.release();
    const [again] = await receiveExactly(sub, 1);
    expect(bodyOf(again!)).toBe("r1");
    expect(plainHeaders(again!)).toEqual(plainHeaders(sent));
    expect(again!.attempt).toBe(f.exactAttempts ? 1 : 0);
    await again!.release();
    const [third] = await receiveExactly(sub, 1);
    expect(third!.attempt).toBe(f.exactAttempts ? 1 : 0);
    await third!.ack();
  });

  it("seam - a closed subscription resolves pending and later receives with [], and what it handed out can still be settled", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("closing")];
    const sub = await s.subscribe(t, group, [topic]);
    await t.publish([message(topic, "held")]);
    const [held] = await receiveExactly(sub, 1);
    const pending = sub.receive(10, 30_000);
    await sleep(50);
    await sub.close();
    expect(await pending).toEqual([]);
    expect(await sub.receive(10, 30_000)).toEqual([]);
    await held!.ack();
    const next = await s.subscribe(await s.open(), group, [topic]);
    expect(await next.receive(10, 300)).toEqual([]);
  });

  it("seam - a closed transport rejects publish with ClosedError, and its unsettled deliveries go back to the queue", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("closed")];
    const sub = await s.subscribe(t, group, [topic], { leaseMs: 1_000 });
    await t.publish([message(topic, "unsettled")]);
    const [held] = await receiveExactly(sub, 1);
    // Its handler started (as the runtime marks it) and had not finished when the transport closed.
    expect(held!.start?.() ?? true).toBe(true);
    await sleep(50);
    await t.close();
    await t.close();
    await expectCode(t.publish([message(topic, "late")]), ErrorCodes.CLOSED);
    const other = await s.subscribe(await s.open(), group, [topic]);
    const [back] = await receiveExactly(other, 1, 20_000);
    expect(bodyOf(back!)).toBe("unsettled");
    expect(back!.attempt).toBe(f.exactAttempts ? 2 : 0);
    await back!.ack();
  });

  it("seam - a temporary subscription removes its group when it closes: its topic is unroutable again", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("reply"), s.name("replies")];
    const sub = await s.subscribe(t, group, [topic], { temporary: true });
    expect(await t.publish([message(topic, "r1")])).toEqual([undefined]);
    const [reply] = await receiveExactly(sub, 1);
    expect(bodyOf(reply!)).toBe("r1");
    await reply!.ack();
    await sub.close();
    let n = 0;
    await waitUntil(async () => (await t.publish([message(topic, `probe-${n++}`)]))[0] !== undefined, 10_000, "the temporary group to go");
    const [result] = await t.publish([message(topic, "after")]);
    expect(result).toMatchObject({ code: ErrorCodes.UNROUTABLE });
  });

  it("seam - a body with every byte value and odd header values arrive exactly", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("bytes")];
    const sub = await s.subscribe(t, group, [topic]);
    const body = Uint8Array.from({ length: 512 }, (_, i) => (i < 256 ? i : 255 - (i - 256)));
    const headers = {
      "ce-id": "hostile", "ce-type": topic, "ce-key": "żółw-🐢", "content-type": "application/octet-stream",
      "x-unicode": "żółw ✓ 🐢 \u00e9\u0301 \u202e end", "x-empty": "", "x-json": "{\"a\":[1,\"b\"],\"c\":null}",
      "x-newline": "line1\nline2\r\n\ttab", "x-long": "v".repeat(4_000), "x-quote": "' OR 1=1 -- \" \\",
    };
    expect(await t.publish([{ topic, id: "hostile", key: "żółw-🐢", wire: wire(body, headers) }])).toEqual([undefined]);
    const [d] = await receiveExactly(sub, 1);
    expect(Buffer.from(d!.wire.body).equals(Buffer.from(body))).toBe(true);
    expect(plainHeaders(d!)).toEqual(headers);
    expect(d!.key).toBe("żółw-🐢");
    await d!.ack();
  });

  it("seam - a message over capabilities.maxMessageBytes fails alone with MessageTooLargeError; the rest of the batch is confirmed", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("big")];
    await t.bind(group, [topic]);
    const big = { topic, id: "big", key: undefined, wire: wire(new Uint8Array(t.capabilities.maxMessageBytes + 1), { "ce-id": "big" }) };
    const results = await t.publish([message(topic, "small-1"), big, message(topic, "small-2")]);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatchObject({ code: ErrorCodes.TOO_LARGE });
    expect(results[2]).toBeUndefined();
    const sub = await s.subscribe(t, group, [topic], { ordered: false });
    expect(bodies(await receiveExactly(sub, 2)).sort()).toEqual(["small-1", "small-2"]);
    expect(await sub.receive(10, 300)).toEqual([]);
  });

  const plain = s.target.plain;
  if (plain) {
    it("seam - a plain client's message arrives with its headers and body", async () => {
      const t = await s.open();
      const [group, topic] = [s.name("g"), s.name("plain")];
      const sub = await s.subscribe(t, group, [topic]);
      const headers = { "ce-id": "p1", "ce-type": topic, "ce-specversion": "1.0", "content-type": "application/json", "x-custom": "żółw" };
      await plain.publish(topic, wire("{\"n\":1}", headers));
      const [d] = await receiveExactly(sub, 1);
      expect(plainHeaders(d!)).toEqual(headers);
      expect(bodyOf(d!)).toBe("{\"n\":1}");
      await d!.ack();
    });
  }
}

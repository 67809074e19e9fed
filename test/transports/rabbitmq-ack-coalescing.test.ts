import amqp, { type Channel, type ConsumeMessage } from "amqplib";
import { describe, expect, it } from "vitest";
import type { Delivery, Subscription } from "../../src/index.js";
import { ChannelAcks } from "../../src/transports/rabbitmq/ack-coalescer.js";
import { sleep } from "../support/wait.js";
import { bodies, bodyOf, message, rabbitmqFixture, receiveAtLeast, subOptions } from "./rabbitmq-support.js";

/** The next turn of the event loop: coalesced acks have been written. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Receive for `ms` more: what else the broker hands out. */
async function drainFor(sub: Subscription, ms: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const deadline = Date.now() + ms;
  for (let left = ms; left > 0; left = deadline - Date.now()) out.push(...(await sub.receive(100, left)));
  return out;
}

/** A fake channel that records the frames the coalescer writes. */
function recordingChannel(): { channel: Channel; frames: string[] } {
  const frames: string[] = [];
  const channel = {
    ack: (m: ConsumeMessage, multiple?: boolean) => frames.push(`${multiple === true ? "ack*" : "ack"} ${m.fields.deliveryTag}`),
    nack: (m: ConsumeMessage, multiple?: boolean, requeue?: boolean) => frames.push(`nack${requeue === true ? "+requeue" : ""} ${m.fields.deliveryTag}`),
  } as unknown as Channel;
  return { channel, frames };
}

function msg(tag: number): ConsumeMessage {
  return { fields: { deliveryTag: tag }, properties: {}, content: Buffer.alloc(0) } as unknown as ConsumeMessage;
}

describe("rabbitmq ack coalescing", () => {
  const fx = rabbitmqFixture();

  it("rabbitmq - ack coalescer: a multiple ack never covers an unsettled tag; acks above the lowest unsettled go out one by one; nacks at once", async () => {
    const { channel, frames } = recordingChannel();
    const acks = new ChannelAcks(channel);
    const p = Array.from({ length: 8 }, (_, i) => acks.pushed(msg(i + 1)));
    acks.ack(p[2]!); // tag 3
    acks.ack(p[0]!); // tag 1
    acks.nack(p[3]!, true); // tag 4: sent at once
    acks.ack(p[5]!); // tag 6: tag 2 is unsettled, so alone
    expect(frames).toEqual(["nack+requeue 4"]);
    await nextTurn();
    expect(frames).toEqual(["nack+requeue 4", "ack 1", "ack 3", "ack 6"]);
    frames.length = 0;
    acks.ack(p[1]!); // tag 2: now 1..6 settled
    acks.ack(p[4]!); // tag 5
    acks.ack(p[7]!); // tag 8: 7 unsettled
    await nextTurn();
    expect(frames).toEqual(["ack* 5", "ack 8"]);
    frames.length = 0;
    acks.ack(p[6]!);
    acks.ack(p[6]!); // twice: once only
    await nextTurn();
    expect(frames).toEqual(["ack 7"]);
    frames.length = 0;
    // A dead channel sends nothing.
    const q = [acks.pushed(msg(9)), acks.pushed(msg(10))];
    acks.ack(q[0]!);
    acks.kill();
    acks.ack(q[1]!);
    acks.nack(q[1]!, true);
    await nextTurn();
    expect(frames).toEqual([]);
  });

  it("rabbitmq - acks completed out of order are coalesced without acking the unsettled: exactly the unacked messages come back", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open();
    await t.bind("ooo", ["o"]);
    await t.publish(Array.from({ length: 30 }, (_, i) => message("o", `m${i}`)));
    const sub = await t.subscribe(subOptions("ooo", ["o"], { ordered: false, prefetch: 30 }));
    const got = await receiveAtLeast(sub, 30, 10_000);
    expect(got).toHaveLength(30);
    const keep = new Set(["m0", "m9", "m17", "m29"]);
    // Reverse order, in two turns, with the lowest tag (m0) unsettled throughout.
    const toAck = got.filter((d) => !keep.has(bodyOf(d))).reverse();
    for (const d of toAck.slice(0, 10)) await d.ack();
    await nextTurn();
    for (const d of toAck.slice(10)) await d.ack();
    await sleep(200);
    await t.close();

    const t2 = fx.open();
    const sub2 = await t2.subscribe(subOptions("ooo", ["o"], { ordered: false, prefetch: 30 }));
    const back = [...(await receiveAtLeast(sub2, 4, 10_000)), ...(await drainFor(sub2, 500))];
    expect(bodies(back).sort()).toEqual([...keep].sort());
    for (const d of back) await d.ack();
  });

  it("rabbitmq - releases (nack, requeue) interleaved with coalesced acks: released messages come back, acked ones never", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open();
    await t.bind("mix", ["x"]);
    await t.publish(Array.from({ length: 20 }, (_, i) => message("x", `m${i}`)));
    const sub = await t.subscribe(subOptions("mix", ["x"], { ordered: false, prefetch: 20 }));
    const got = await receiveAtLeast(sub, 20, 10_000);
    expect(got).toHaveLength(20);
    const released = new Set(["m0", "m4", "m5", "m13", "m19"]);
    // Interleaved within one turn: ack, release, ack, … (the releases' nacks go out before the turn's acks).
    await Promise.all(got.map((d) => (released.has(bodyOf(d)) ? d.release() : d.ack())));
    const back = [...(await receiveAtLeast(sub, released.size, 10_000)), ...(await drainFor(sub, 500))];
    expect(bodies(back).sort()).toEqual([...released].sort());
    for (const d of back) await d.ack();
    await sleep(200);
    await t.close();
    const c = await amqp.connect(fx.vhost().url);
    try {
      const ch = await c.createChannel();
      expect((await ch.checkQueue("mix")).messageCount).toBe(0);
    } finally {
      await c.close();
    }
  });

  it("rabbitmq - a channel lost with coalesced acks still waiting: every one of those messages comes back on the new channel", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open();
    await t.bind("lost", ["l"]);
    await t.publish(Array.from({ length: 10 }, (_, i) => message("l", `m${i}`)));
    const sub = await t.subscribe(subOptions("lost", ["l"], { ordered: false, prefetch: 10 }));
    const got = await receiveAtLeast(sub, 10, 10_000);
    expect(got).toHaveLength(10);
    const channel = (sub as unknown as { channel: Channel }).channel;
    // In one turn: the acks wait for the next one, and a bogus ack written now makes the broker close the channel
    // (406 unknown delivery tag), so the frames after it are discarded.
    for (const d of got) void d.ack();
    channel.ack(msg(1_000_000));
    const back = await receiveAtLeast(sub, 10, 15_000);
    expect(bodies(back).sort()).toEqual(bodies(got).sort());
    expect(back.every((d) => d.attempt === 2)).toBe(true);
    for (const d of back) await d.ack();
    await sleep(200);
    await t.close();
    const c = await amqp.connect(fx.vhost().url);
    try {
      const ch = await c.createChannel();
      expect((await ch.checkQueue("lost")).messageCount).toBe(0);
    } finally {
      await c.close();
    }
  });
});

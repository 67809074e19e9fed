import amqp from "amqplib";
import { describe, expect, it } from "vitest";
import type { QueueStats } from "../../src/index.js";
import type { RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { waitFor } from "../support/wait.js";
import { message, rabbitmqFixture, receiveAtLeast, subOptions } from "./rabbitmq-support.js";
import { deleteGroup, uniqueName } from "./rabbitmq-operate-support.js";

describe("rabbitmq stats", () => {
  const fx = rabbitmqFixture();
  const open = async (): Promise<RabbitmqTransport> => {
    const t = fx.open();
    await t.connect();
    return t;
  };
  const of = async (t: RabbitmqTransport, group: string): Promise<QueueStats | undefined> => (await t.stats()).find((s) => s.group === group);

  it("rabbitmq stats - ready, delayed, dead letters, consumers, and in flight as another process reports it", async ({ skip }) => {
    if (fx.skip()) return skip();
    const worker = await open();
    // The reader is a second connection: it sees the group through the catalog, and in-flight counts through the status stream.
    const reader = await open();
    const group = uniqueName("st");
    const topic = uniqueName("order.placed");
    try {
      await worker.bind(group, [topic]);
      const published = Date.now();
      expect(await worker.publish([1, 2, 3].map((i) => message(topic, `m${i}`)))).toEqual([undefined, undefined, undefined]);
      expect(await worker.publish([message(topic, "later", undefined, { group, delayMs: 60_000 })])).toEqual([undefined]);

      const before = await of(reader, group);
      expect(before).toMatchObject({ group, topics: [topic], ready: 3, inFlight: 0, delayed: 1, depth: 4, deadLetters: 0, consumers: 0, temporary: false });
      expect(before!.oldestAgeMs).toBeGreaterThanOrEqual(0);
      expect(before!.oldestAgeMs).toBeLessThanOrEqual(Date.now() - published + 1500);

      const sub = await worker.subscribe(subOptions(group, [topic], { prefetch: 2 }));
      const held = await receiveAtLeast(sub, 2, 10_000);
      expect(held).toHaveLength(2);
      await waitFor(async () => (await of(reader, group))?.inFlight === 2, 10_000, "two in flight, seen by the other connection");
      const during = await of(reader, group);
      expect(during).toMatchObject({ ready: 1, inFlight: 2, delayed: 1, depth: 4, consumers: 1 });
      // The held messages' age: from their AMQP timestamps (whole seconds).
      expect(during!.oldestAgeMs).toBeGreaterThanOrEqual(0);
      expect(during!.oldestAgeMs).toBeLessThan(60_000);

      await held[0]!.deadLetter({ ...held[0]!.wire.headers, "missive-error-code": "MISSIVE_PERMANENT" });
      await held[1]!.ack();
      // The third message is pushed into the freed prefetch: in flight, not ready.
      await waitFor(async () => {
        const s = await of(reader, group);
        return s?.inFlight === 1 && s.ready === 0 && s.deadLetters === 1;
      }, 10_000, "the third message in flight, one dead letter");
      const [third] = await receiveAtLeast(sub, 1, 5000);
      await third!.ack();
      await waitFor(async () => (await of(reader, group))?.inFlight === 0, 10_000, "nothing in flight");
      await sub.close();
      await waitFor(async () => (await of(reader, group))?.consumers === 0, 10_000, "no consumers after close");
      const after = await of(reader, group);
      expect(after).toMatchObject({ ready: 0, inFlight: 0, delayed: 1, depth: 1, deadLetters: 1 });
      // Only a delayed message: it has no age on this transport.
      expect(after!.oldestAgeMs).toBeUndefined();
    } finally {
      await deleteGroup(fx.vhost().url, group, [topic]);
    }
  });

  it("rabbitmq stats - a topic's delayed message counts for each of its groups; a deleted group is not listed; an idle group is", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = await open();
    const a = uniqueName("sta");
    const b = uniqueName("stb");
    const topic = uniqueName("ping");
    try {
      await t.bind(a, [topic]);
      await t.bind(b, [topic]);
      expect(await t.publish([message(topic, "d1", undefined, { delayMs: 30_000 })])).toEqual([undefined]);
      const stats = await t.stats();
      for (const g of [a, b]) {
        expect(stats.find((s) => s.group === g)).toMatchObject({ ready: 0, inFlight: 0, delayed: 1, depth: 1, consumers: 0, deadLetters: 0, oldestAgeMs: undefined });
      }
      const c = await amqp.connect(fx.vhost().url);
      await (await c.createChannel()).deleteQueue(a);
      await c.close();
      const later = await t.stats();
      expect(later.map((s) => s.group)).not.toContain(a);
      expect(later.map((s) => s.group)).toContain(b);
      // Sorted by group name, as the catalog lists them.
      const names = later.map((s) => s.group);
      expect(names).toEqual([...names].sort());
    } finally {
      await deleteGroup(fx.vhost().url, a, [topic]);
      await deleteGroup(fx.vhost().url, b);
    }
  });
});

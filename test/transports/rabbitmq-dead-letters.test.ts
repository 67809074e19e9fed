import amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import type { RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { deadLetterQueueOf } from "../../src/transports/rabbitmq/names.js";
import { bodyOf, rabbitmqFixture, receiveAtLeast, subOptions } from "./rabbitmq-support.js";
import { deadLetters, deleteGroup, uniqueName } from "./rabbitmq-operate-support.js";

describe("rabbitmq dead letters", () => {
  const fx = rabbitmqFixture();
  /** Groups (and their topics) each test made, deleted after it even though the vhost goes too. */
  const made: Array<[string, string[]]> = [];
  const open = async (): Promise<RabbitmqTransport> => {
    const t = fx.open();
    await t.connect();
    return t;
  };
  const names = (): { a: string; b: string; topic: string; other: string } => {
    const n = { a: uniqueName("dla"), b: uniqueName("dlb"), topic: uniqueName("order.placed"), other: uniqueName("ping") };
    made.push([n.a, [n.topic, n.other]], [n.b, [n.topic]]);
    return n;
  };
  const cleanup = async (): Promise<void> => {
    for (const [group, topics] of made.splice(0)) await deleteGroup(fx.vhost().url, group, topics);
  };

  it("rabbitmq dead letters - filter, page in store order, summarise, get; hostile filters are typed errors or nothing", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = await open();
    const n = names();
    try {
      await t.bind(n.a, [n.topic, n.other]);
      await t.bind(n.b, [n.topic]);
      await deadLetters(t, n.b, n.topic, [{ id: "b1" }, { id: "b2" }]);
      await deadLetters(t, n.a, n.topic, [{ id: "a1" }, { id: "a2", code: "MISSIVE_DECODE", className: "DecodeError" }, { id: "a3" }]);

      const all = await t.deadLetters.list();
      // Store order: groups by name (dla… < dlb…), then queue order.
      expect(all.map((e) => e.messageId)).toEqual(["a1", "a2", "a3", "b1", "b2"]);
      expect(all[0]).toMatchObject({ group: n.a, topic: n.topic, key: "k-a1" });
      expect(all[0]!.deadLetteredAt).toBeGreaterThan(Date.now() - 60_000);
      expect(await t.deadLetters.count()).toBe(5);
      expect(await t.deadLetters.count({ group: n.b })).toBe(2);
      expect((await t.deadLetters.list({ errorCode: "MISSIVE_DECODE" })).map((e) => e.messageId)).toEqual(["a2"]);
      expect(await t.deadLetters.count({ errorClass: "PermanentError", group: n.a })).toBe(2);
      expect(await t.deadLetters.count({ since: Date.now() + 60_000 })).toBe(0);
      expect((await t.deadLetters.list({ messageId: "b2" })).map((e) => e.group)).toEqual([n.b]);

      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await t.deadLetters.list({ limit: 2, ...(after === undefined ? {} : { after }) });
        if (page.length === 0) break;
        pages.push(page.map((e) => e.entryId));
        after = page[page.length - 1]!.entryId;
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(all.map((e) => e.entryId));

      const summary = await t.deadLetters.summary();
      expect(summary.map(({ firstDeadLetteredAt: _f, lastDeadLetteredAt: _l, ...rest }) => rest)).toEqual([
        { topic: n.topic, errorCode: "MISSIVE_PERMANENT", errorClass: "PermanentError", count: 4 },
        { topic: n.topic, errorCode: "MISSIVE_DECODE", errorClass: "DecodeError", count: 1 },
      ]);

      const one = await t.deadLetters.get(all[1]!.entryId);
      expect(one && Buffer.from(one.wire.body).toString()).toBe("a2");
      expect(one?.wire.headers["missive-error-code"]).toBe("MISSIVE_DECODE");
      // Private bookkeeping never shows as a header; the broker's x-delivery-count (scans return messages) neither.
      expect(Object.keys(one!.wire.headers).filter((h) => h.startsWith("x-"))).toEqual([]);

      for (const missing of ["__proto__", "' OR 1=1 --", "", "nope", "0196f0e0-0000-7000-8000-000000000000"]) expect(await t.deadLetters.get(missing)).toBeUndefined();
      for (const group of ["__proto__", "' OR 1=1 --", "", "x".repeat(300), "a.dlq"]) expect(await t.deadLetters.count({ group })).toBe(0);
      await expect(t.deadLetters.list({ limit: -1 })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(t.deadLetters.list({ limit: 10_001 })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(t.deadLetters.count({ until: Number.NaN })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(t.deadLetters.summary({ topic: 7 as unknown as string })).rejects.toBeInstanceOf(ConfigurationError);
      expect(await t.deadLetters.list({ after: "' OR 1=1 --" })).toEqual(all.filter((e) => e.entryId > "' OR 1=1 --"));
      // Scans gave every entry back: nothing was lost by reading.
      expect(await t.deadLetters.count()).toBe(5);
    } finally {
      await cleanup();
    }
  });

  it("rabbitmq dead letters - replay keeps ids and order, restarts attempts, and skips a group whose queue is gone; discard removes", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = await open();
    const n = names();
    try {
      await t.bind(n.a, [n.topic]);
      await t.bind(n.b, [n.topic]);
      await deadLetters(t, n.a, n.topic, [{ id: "r1" }, { id: "r2" }, { id: "r3" }, { id: "r4" }]);
      await deadLetters(t, n.b, n.topic, [{ id: "g1" }]);
      const entries = await t.deadLetters.list({ group: n.a });
      expect(await t.deadLetters.discard([entries[3]!.entryId, "nope"])).toBe(1);
      expect(await t.deadLetters.discard([entries[3]!.entryId])).toBe(0);

      expect(await t.deadLetters.replay(entries.slice(0, 3).map((e) => e.entryId).reverse())).toBe(3);
      expect(await t.deadLetters.count({ group: n.a })).toBe(0);
      const sub = await t.subscribe(subOptions(n.a, [n.topic]));
      const back = await receiveAtLeast(sub, 3, 10_000);
      expect(back.map(bodyOf)).toEqual(["r1", "r2", "r3"]);
      expect(back.map((d) => d.wire.headers["ce-id"])).toEqual(["r1", "r2", "r3"]);
      expect(back.map((d) => d.attempt)).toEqual([1, 1, 1]);
      expect(Object.keys(back[0]!.wire.headers).filter((h) => h.startsWith("missive-"))).toEqual([]);
      for (const d of back) await d.ack();
      await sub.close();

      // A group whose queue is gone: the entry stays.
      const [gone] = await t.deadLetters.list({ group: n.b });
      const c = await amqp.connect(fx.vhost().url);
      await (await c.createChannel()).deleteQueue(n.b);
      await c.close();
      expect(await t.deadLetters.replay([gone!.entryId])).toBe(0);
      expect(await t.deadLetters.replayEdited(gone!.entryId, { headers: { "ce-id": "g1" }, body: Buffer.from("edited") })).toBe(false);
      expect((await t.deadLetters.list({ group: n.b })).map((e) => e.entryId)).toEqual([gone!.entryId]);
      expect(await t.deadLetters.replay([entries[0]!.entryId])).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it("rabbitmq dead letters - concurrent scans from two connections each see every entry (the lock serialises them)", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t1 = await open();
    const t2 = await open();
    const n = names();
    try {
      await t1.bind(n.a, [n.topic]);
      await deadLetters(t1, n.a, n.topic, Array.from({ length: 20 }, (_, i) => ({ id: `c${i}` })));
      const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
      const runs = await Promise.all([
        ...Array.from({ length: 3 }, () => t1.deadLetters.list({ group: n.a })),
        ...Array.from({ length: 3 }, () => t2.deadLetters.list({ group: n.a })),
      ]);
      for (const run of runs) expect(run.map((e) => e.messageId)).toEqual(ids);
      // A scan and a discard racing: the discard happens once, the other scan sees a consistent queue.
      const [entries] = runs;
      const [discarded, after] = await Promise.all([t2.deadLetters.discard([entries![0]!.entryId]), t1.deadLetters.count({ group: n.a })]);
      expect(discarded).toBe(1);
      expect([19, 20]).toContain(after);
      expect(await t1.deadLetters.count({ group: n.a })).toBe(19);
    } finally {
      await cleanup();
    }
  });

  it("rabbitmq dead letters - entries a plain amqplib client put in the queue, without private headers, are listed and replayable", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = await open();
    const n = names();
    try {
      await t.bind(n.a, [n.topic]);
      const c = await amqp.connect(fx.vhost().url);
      const ch = await c.createConfirmChannel();
      const stamp = Math.floor(Date.now() / 1000);
      ch.sendToQueue(deadLetterQueueOf(n.a), Buffer.from("plain-1"), { messageId: "p1", timestamp: stamp, headers: { cloudEvents_id: "p1", cloudEvents_type: n.topic } });
      ch.sendToQueue(deadLetterQueueOf(n.a), Buffer.from("plain-2"), { headers: { cloudEvents_type: n.topic } });
      await ch.waitForConfirms();
      await c.close();

      const entries = await t.deadLetters.list({ group: n.a });
      expect(entries.map((e) => Buffer.from(e.wire.body).toString())).toEqual(["plain-1", "plain-2"]);
      expect(entries[0]).toMatchObject({ entryId: "p1", messageId: "p1", group: n.a, topic: n.topic, deadLetteredAt: stamp * 1000 });
      expect(entries[1]!.entryId).toMatch(/^h:[0-9a-f]{32}$/);
      expect(entries[1]!.deadLetteredAt).toBe(0);
      // The fallback id is stable across scans.
      expect((await t.deadLetters.list({ group: n.a })).map((e) => e.entryId)).toEqual(entries.map((e) => e.entryId));
      expect(await t.deadLetters.summary({ group: n.a })).toEqual([
        expect.objectContaining({ topic: n.topic, errorCode: undefined, errorClass: undefined, count: 2 }),
      ]);
      expect(await t.deadLetters.replay([entries[0]!.entryId])).toBe(1);
      const sub = await t.subscribe(subOptions(n.a, [n.topic]));
      const [d] = await receiveAtLeast(sub, 1, 10_000);
      expect(d && bodyOf(d)).toBe("plain-1");
      await d?.ack();
      await sub.close();
      expect(await t.deadLetters.discard([entries[1]!.entryId])).toBe(1);
      expect(await t.deadLetters.count({ group: n.a })).toBe(0);
    } finally {
      await cleanup();
    }
  });

});

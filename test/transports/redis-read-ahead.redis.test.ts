/**
 * A subscription at its prefetch reads the entries that take the place of a
 * turn's acks in the acks' own pipeline (subscription.ts readAlong):
 * buffered (pending under it) by the time the acks are confirmed, handed out
 * in stream order by the next receive, and never more than the prefetch
 * beyond the entries being acked.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { Delivery, OutgoingMessage } from "../../src/transport/transport.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

const prefix = `ahead-redis-${randomUUID().slice(0, 8)}:`;
const admin = new Redis(REDIS_URL);

afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  admin.disconnect();
});

const message = (id: string): OutgoingMessage => ({ topic: "work", id, key: undefined, wire: { headers: { "ce-id": id }, body: new TextEncoder().encode(id) } });
const body = (d: Delivery): string => Buffer.from(d.wire.body).toString();
const pendingCount = async (): Promise<number> => Number(((await admin.xpending(redisNames(prefix).topicStream("work"), "ra")) as [number])[0]);

describe("redis - read-ahead", () => {
  it("redis - entries replacing a turn's acks are read while the acks are in flight, at most the prefetch of them, and come next in order", async () => {
    const t = redisTransport({ url: REDIS_URL, prefix });
    try {
      const sub = await t.subscribe({ group: "ra", topics: ["work"], prefetch: 4, ordered: false, leaseMs: 30_000 });
      const ids = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, "0")}`);
      expect(await t.publish(ids.map(message))).toEqual(ids.map(() => undefined));
      const first = await sub.receive(4, 1_000);
      expect(first.map(body)).toEqual(ids.slice(0, 4));
      expect(await pendingCount()).toBe(4);

      // No receive is waiting: the acks' turn reads their replacements, no more than the prefetch.
      for (const d of first) d.start?.();
      await Promise.all(first.map((d) => d.ack()));
      for (let i = 0; i < 50 && (await pendingCount()) < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await pendingCount()).toBe(4);

      const second = await sub.receive(4, 1_000);
      expect(second.map(body)).toEqual(ids.slice(4, 8));
      await Promise.all(second.map((d) => d.ack()));
      const third = await sub.receive(8, 1_000);
      expect(third.map(body)).toEqual(ids.slice(8, 12));
      await Promise.all(third.map((d) => d.ack()));
      expect(await pendingCount()).toBe(0);
      await sub.close();
    } finally {
      await t.close();
    }
  });

  it("redis - acks of half the prefetch go mid-turn with their refill: two refills on their way at once, never more than the prefetch pending, handed out in order", async () => {
    const t = redisTransport({ url: REDIS_URL, prefix });
    try {
      const sub = await t.subscribe({ group: "halves", topics: ["work"], prefetch: 64, ordered: false, leaseMs: 30_000 });
      const ids = Array.from({ length: 192 }, (_, i) => `h${String(i).padStart(3, "0")}`);
      expect(await t.publish(ids.map(message))).toEqual(ids.map(() => undefined));
      const pending = (): Promise<number> => admin.xpending(redisNames(prefix).topicStream("work"), "halves").then((r) => Number((r as [number])[0]));
      const first = await sub.receive(64, 1_000);
      expect(first.map(body)).toEqual(ids.slice(0, 64));
      for (const d of first) d.start?.();
      // One turn: the first 32 acks go at once with a refill of 32, the next 32 with another.
      const acks = first.map((d) => d.ack());
      await Promise.all(acks);
      expect(await pending()).toBe(64);
      const got: string[] = [];
      for (let i = 0; i < 10 && got.length < 128; i++) {
        const ds = await sub.receive(64, 1_000);
        got.push(...ds.map(body));
        expect(await pending()).toBeLessThanOrEqual(64);
        for (const d of ds) d.start?.();
        await Promise.all(ds.map((d) => d.ack()));
      }
      expect(got).toEqual(ids.slice(64));
      await sub.close();
    } finally {
      await t.close();
    }
  });

  it("redis - a refill whose reply was lost with the command connection (ioredis sends it again) is taken back at once, not after its lease", async () => {
    const proxy = await startTcpProxy({ upstreamPort: 6379 });
    const t = redisTransport({ url: `redis://${proxy.host}:${proxy.port}`, prefix });
    try {
      const sub = await t.subscribe({ group: "lost", topics: ["work"], prefetch: 4, ordered: false, leaseMs: 30_000 });
      const ids = Array.from({ length: 12 }, (_, i) => `l${String(i).padStart(2, "0")}`);
      expect(await t.publish(ids.map(message))).toEqual(ids.map(() => undefined));
      const first = await sub.receive(4, 1_000);
      expect(first.map(body)).toEqual(ids.slice(0, 4));

      // The acks and their refill reach the server and run; their reply is still on its way when the connection is reset.
      await proxy.latency(300);
      const acks = Promise.allSettled(first.map((d) => d.ack()));
      const acked = new Set(first.map((d) => (d as unknown as { id: string }).id));
      const pending = async (): Promise<string[]> => ((await admin.xpending(redisNames(prefix).topicStream("work"), "lost", "-", "+", 20)) as Array<[string]>).map(([id]) => id);
      let now: string[] = [];
      for (let i = 0; i < 100; i++) {
        now = await pending();
        if (now.length === 4 && now.every((id) => !acked.has(id))) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(now.filter((id) => !acked.has(id))).toHaveLength(4);
      await proxy.pass();
      proxy.reset();
      await acks;

      const got: string[] = [];
      for (let i = 0; i < 8 && got.length < 8; i++) {
        const ds = await sub.receive(4, 1_000);
        got.push(...ds.map(body));
        await Promise.allSettled(ds.map((d) => d.ack()));
      }
      expect(got.sort()).toEqual(ids.slice(4).sort());
      await sub.close();
    } finally {
      await t.close();
      await proxy.stop();
    }
  });

  it("redis - a refill comes packed (read-unpack.ts) with every field as it was: UTF-8 and long headers, bodies that are not UTF-8, a group copy's topic", async () => {
    const t = redisTransport({ url: REDIS_URL, prefix });
    try {
      const sub = await t.subscribe({ group: "packed", topics: ["work"], prefetch: 2, ordered: false, leaseMs: 30_000 });
      const wire = (id: string, body: Uint8Array) => ({ headers: { "ce-id": id, "x-note": `naïve ✓ 𝄞 ${"é".repeat(id.length * 40)}`, "x-crlf": "a\r\nb" }, body });
      const sent: OutgoingMessage[] = [
        message("p0"), message("p1"),
        { topic: "work", id: "p2", key: undefined, wire: wire("p2", Uint8Array.from([0x80, 0xc0, 0xaf, 0xff, 0x00, 0x0d, 0x0a])) },
        { topic: "work", id: "p3", key: undefined, wire: wire("p3", new Uint8Array(70_000).fill(0xfe)) },
        { topic: "other.topic", id: "p4", key: undefined, group: "packed", wire: wire("p4", new Uint8Array()) },
      ];
      expect(await t.publish(sent.slice(0, 4))).toEqual([undefined, undefined, undefined, undefined]);
      const first = await sub.receive(2, 1_000);
      expect(first.map(body)).toEqual(["p0", "p1"]);
      expect(await t.publish(sent.slice(4))).toEqual([undefined]);
      const got: Delivery[] = [];
      await Promise.all(first.map((d) => d.ack()));
      for (let i = 0; i < 10 && got.length < 3; i++) {
        const ds = await sub.receive(2, 500);
        got.push(...ds);
        await Promise.all(ds.map((d) => d.ack()));
      }
      expect(got.map((d) => d.wire.headers["ce-id"]).sort()).toEqual(["p2", "p3", "p4"]);
      for (const d of got) {
        const m = sent.find((s) => s.id === d.wire.headers["ce-id"])!;
        expect(d.wire.headers, m.id).toEqual(m.wire.headers);
        expect(Buffer.from(d.wire.body).equals(Buffer.from(m.wire.body)), m.id).toBe(true);
        expect(d.topic).toBe(m.topic);
      }
      await sub.close();
    } finally {
      await t.close();
    }
  });
});

/**
 * The Redis Streams pitfalls users hit (issue 17), each with a test on the
 * shared server: a blocking read whose connection is killed must not hang;
 * a blocking read must not hold the transport's publishes; trimming must
 * never remove an entry some group has not acknowledged; a pending entry
 * deleted from its stream must not be claimed again and again.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../src/transport/transport.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { redisTransport, type RedisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { sleep, waitFor } from "../support/wait.js";

const prefix = `pit-redis-${randomUUID().slice(0, 8)}:`;
const names = redisNames(prefix);
const opened: RedisTransport[] = [];
const admin = new Redis(REDIS_URL);

function open(extra: { trimIntervalMs?: number } = {}): RedisTransport {
  const t = redisTransport({ url: REDIS_URL, prefix, ...extra });
  opened.push(t);
  return t;
}

function message(topic: string, id: string): OutgoingMessage {
  return { topic, id, key: undefined, wire: { headers: { "ce-id": id }, body: new TextEncoder().encode(id) } };
}

const body = (d: { wire: { body: Uint8Array } }): string => Buffer.from(d.wire.body).toString();

/** This file's reader connections only: other files' readers on the shared server carry their own prefix. */
async function readerIds(): Promise<Set<string>> {
  const list = String(await admin.call("CLIENT", "LIST", "TYPE", "normal"));
  const mine = ` name=missive-reader:${prefix}`;
  return new Set(list.split("\n").filter((l) => l.includes(mine)).map((l) => /\bid=(\d+)/.exec(l)![1]!));
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  admin.disconnect();
});

describe("redis - pitfalls", () => {
  it("redis - a blocking read whose connection is killed (CLIENT KILL) does not hang: the next publish still arrives", async () => {
    const t = open();
    await t.connect();
    const before = await readerIds();
    const sub = await t.subscribe({ group: "g1", topics: ["killed"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    expect(await sub.receive(1, 50)).toEqual([]);
    const mine = [...(await readerIds())].filter((id) => !before.has(id));
    expect(mine).toHaveLength(1);
    const waiting = sub.receive(1, 20_000);
    await sleep(300);
    await admin.call("CLIENT", "KILL", "ID", mine[0]!);
    await sleep(500);
    const publishedAt = Date.now();
    expect(await t.publish([message("killed", "after-kill")])).toEqual([undefined]);
    const got = await waiting;
    expect(got.map(body)).toEqual(["after-kill"]);
    expect(Date.now() - publishedAt).toBeLessThan(10_000);
    await got[0]!.ack();
    await sub.close();
  });

  it("redis - a blocked read does not hold the transport's publishes and acks (a connection of its own)", async () => {
    const t = open();
    const sub = await t.subscribe({ group: "g2", topics: ["quiet"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    await t.bind("g2b", ["busy"]);
    const other = await t.subscribe({ group: "g2b", topics: ["busy"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const blocked = sub.receive(1, 5_000);
    await sleep(200);
    const started = Date.now();
    expect(await t.publish([message("busy", "b1")])).toEqual([undefined]);
    const [d] = await other.receive(1, 2_000);
    await d!.ack();
    // Well under the 5 s the other subscription blocks for.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await blocked).toEqual([]);
  });

  it("redis - trimming removes only what every group acknowledged", async () => {
    const t = open({ trimIntervalMs: 100 });
    await t.bind("fast", ["trim"]);
    await t.bind("slow", ["trim"]);
    const ids = Array.from({ length: 10 }, (_, i) => `t${i}`);
    expect(await t.publish(ids.map((id) => message("trim", id)))).toEqual(ids.map(() => undefined));
    const fast = await t.subscribe({ group: "fast", topics: ["trim"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const slow = await t.subscribe({ group: "slow", topics: ["trim"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const fastGot = await fast.receive(10, 5_000);
    expect(fastGot).toHaveLength(10);
    await Promise.all(fastGot.map((d) => d.ack()));
    const slowGot = await slow.receive(10, 5_000);
    expect(slowGot.map(body)).toEqual(ids);
    for (const d of slowGot.slice(0, 4)) await d.ack();
    const stream = names.topicStream("trim");
    // t4 is the slow group's first unacknowledged entry: t4…t9 stay.
    await waitFor(async () => (await admin.xlen(stream)) === 6, 10_000, "the stream trimmed to the slow group's first pending entry");
    await sleep(500);
    expect(await admin.xlen(stream)).toBe(6);
    for (const d of slowGot.slice(4)) await d.ack();
    await waitFor(async () => (await admin.xlen(stream)) <= 1, 10_000, "the stream trimmed once every group acknowledged");
  });

  it("redis - a pending entry deleted from its stream is dropped from the pending list when claimed, not claimed again and again", async () => {
    const doomed = open();
    const sub = await doomed.subscribe({ group: "g4", topics: ["gone"], prefetch: 10, ordered: false, leaseMs: 500 });
    await doomed.publish([message("gone", "kept"), message("gone", "deleted")]);
    const held = await sub.receive(2, 5_000);
    expect(held.map(body).sort()).toEqual(["deleted", "kept"]);
    await doomed.kill();
    const stream = names.topicStream("gone");
    // The stream entry id of the held delivery (RedisDelivery.id).
    const deleted = held.find((d) => body(d) === "deleted") as unknown as { id: string };
    expect(await admin.xdel(stream, deleted.id)).toBe(1);
    const survivor = open();
    const next = await survivor.subscribe({ group: "g4", topics: ["gone"], prefetch: 10, ordered: false, leaseMs: 500 });
    let got: string[] = [];
    await waitFor(async () => {
      got = [...got, ...(await next.receive(10, 200)).map((d) => { void d.ack(); return body(d); })];
      return got.length > 0;
    }, 15_000, "the kept entry claimed");
    expect(got).toEqual(["kept"]);
    await waitFor(async () => ((await admin.xpending(stream, "g4")) as [number])[0] === 0, 10_000, "an empty pending list");
    expect(await next.receive(10, 1_500)).toEqual([]);
  });
});

describe("redis - consumer names", () => {
  it("redis - a closed subscription removes its consumer name only where it holds no pending entry (deleting it would drop them)", async () => {
    const t = open();
    const sub = await t.subscribe({ group: "g5", topics: ["names"], prefetch: 1, ordered: false, leaseMs: 5_000 });
    await t.publish([message("names", "held"), message("names", "acked")]);
    const [held] = await sub.receive(1, 5_000);
    // Redis makes a consumer name at its first read that returns an entry.
    const idle = await t.subscribe({ group: "g5", topics: ["names"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const [acked] = await idle.receive(1, 5_000);
    await acked!.ack();
    const stream = names.topicStream("names");
    const consumers = async (): Promise<number> => ((await admin.xinfo("CONSUMERS", stream, "g5")) as unknown[]).length;
    expect(await consumers()).toBe(2);
    await idle.close();
    expect(await consumers()).toBe(1);
    // The holder closes with its delivery unsettled: its name stays, with the pending entry, for a claim.
    await sub.close();
    expect(await consumers()).toBe(1);
    expect(((await admin.xpending(stream, "g5")) as [number])[0]).toBe(1);
    await held!.ack();
  });
});

describe("redis - poison", () => {
  it("redis - a message whose consumer dies every time (no nack in Redis) counts each claim as an attempt, so the retry budget ends its loop", async () => {
    const producer = open();
    await producer.bind("g6", ["poison"]);
    await producer.publish([message("poison", "kills-its-worker")]);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const worker = open();
      const sub = await worker.subscribe({ group: "g6", topics: ["poison"], prefetch: 1, ordered: false, leaseMs: 300 });
      let got: Awaited<ReturnType<typeof sub.receive>> = [];
      await waitFor(async () => (got = await sub.receive(1, 500)).length === 1, 15_000, `delivery ${i + 1}`);
      seen.push(got[0]!.attempt);
      // Its handler starts (what the runtime marks) and kills the process.
      expect(got[0]!.start?.()).toBe(true);
      await sleep(50);
      await worker.kill();
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it("redis - entries a dead process read but never started, and releases, use up no attempt: only handler starts count (ADR 011)", async () => {
    const producer = open();
    await producer.bind("g7", ["prefetched"]);
    await producer.publish([message("prefetched", "started"), message("prefetched", "handed-out"), message("prefetched", "buffered")]);
    const doomed = open();
    const sub = await doomed.subscribe({ group: "g7", topics: ["prefetched"], prefetch: 3, ordered: false, leaseMs: 300 });
    // One receive of 2: all three are read (pending under this consumer), two handed out, one left in the buffer.
    let got: Awaited<ReturnType<typeof sub.receive>> = [];
    await waitFor(async () => (got = [...got, ...(await sub.receive(2 - got.length, 500))]).length === 2, 15_000, "two deliveries");
    const started = got.find((d) => body(d) === "started") ?? got[0]!;
    expect(started.start?.()).toBe(true);
    await sleep(50);
    await doomed.kill();

    const heir = open();
    const next = await heir.subscribe({ group: "g7", topics: ["prefetched"], prefetch: 10, ordered: false, leaseMs: 300 });
    const claimed: Array<Awaited<ReturnType<typeof next.receive>>[number]> = [];
    await waitFor(async () => (claimed.push(...(await next.receive(10, 500))), claimed.length === 3), 15_000, "the dead process's three entries");
    const attempts = Object.fromEntries(claimed.map((d) => [body(d), d.attempt]));
    expect(attempts[body(started)]).toBe(2);
    for (const d of claimed) if (body(d) !== body(started)) expect(d.attempt).toBe(1);

    // A release of a started delivery keeps its count; of an unstarted one, it stays at 1.
    for (const d of claimed) if (body(d) === body(started)) expect(d.start?.()).toBe(true);
    await sleep(50);
    for (const d of claimed) await d.release();
    const again: typeof claimed = [];
    await waitFor(async () => (again.push(...(await next.receive(10, 500))), again.length === 3), 15_000, "the released entries back");
    const after = Object.fromEntries(again.map((d) => [body(d), d.attempt]));
    expect(after[body(started)]).toBe(3);
    for (const d of again) if (body(d) !== body(started)) expect(d.attempt).toBe(1);
    for (const d of again) await d.ack();
    expect(await admin.hlen(names.starts("g7"))).toBe(0);
  });
});

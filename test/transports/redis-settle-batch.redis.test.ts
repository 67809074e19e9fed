/**
 * The starts and acks of one turn go to the server together (settle-batch.ts):
 * one script call per stream, yet each ack keeps its own verdict, and each
 * start its own count (ADR 011).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LeaseLostError } from "../../src/errors.js";
import type { Delivery, OutgoingMessage } from "../../src/transport/transport.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { compareIds } from "../../src/transports/redis/settle-batch.js";
import { redisTransport, type RedisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";

const prefix = `batch-redis-${randomUUID().slice(0, 8)}:`;
const names = redisNames(prefix);
const opened: RedisTransport[] = [];
const admin = new Redis(REDIS_URL);

function open(): RedisTransport {
  const t = redisTransport({ url: REDIS_URL, prefix });
  opened.push(t);
  return t;
}

function message(topic: string, id: string, group?: string): OutgoingMessage {
  return { topic, id, key: undefined, group, wire: { headers: { "ce-id": id }, body: new TextEncoder().encode(id) } };
}

const body = (d: Delivery): string => Buffer.from(d.wire.body).toString();

async function receiveAll(sub: { receive(max: number, waitMs: number): Promise<Delivery[]> }, n: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let i = 0; i < 20 && out.length < n; i++) out.push(...(await sub.receive(n - out.length, 500)));
  return out;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  admin.disconnect();
});

describe("redis - settles batched per turn", () => {
  it("redis - acks of one turn on two streams each get their own verdict: the one another consumer claimed is LeaseLostError, the rest are acked (and the group's copies deleted)", async () => {
    const t = open();
    const sub = await t.subscribe({ group: "b1", topics: ["orders"], prefetch: 10, ordered: false, leaseMs: 30_000 });
    expect(await t.publish([message("orders", "t1"), message("orders", "t2"), message("orders", "t3"), message("orders", "g1", "b1"), message("orders", "g2", "b1")])).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const got = await receiveAll(sub, 5);
    expect(got.map(body).sort()).toEqual(["g1", "g2", "t1", "t2", "t3"]);
    const topicStream = names.topicStream("orders");
    const [entry] = await admin.xrange(topicStream, "-", "+").then((es) => es.filter(([, f]) => f.includes("t2")));
    await admin.xclaim(topicStream, "b1", "thief", 0, entry![0], "JUSTID");

    // All in one turn, each started first as the runtime does: one pipeline with a settle call per stream, the starts riding with them.
    for (const d of got) expect(d.start?.()).toBe(true);
    const outcomes = await Promise.allSettled(got.map((d) => d.ack()));
    const byBody = new Map(got.map((d, i) => [body(d), outcomes[i]!]));
    expect(byBody.get("t2")!.status).toBe("rejected");
    expect((byBody.get("t2") as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    for (const name of ["t1", "t3", "g1", "g2"]) expect(byBody.get(name)!.status, name).toBe("fulfilled");

    const pending = (await admin.xpending(topicStream, "b1", "-", "+", 10)) as Array<[string, string]>;
    expect(pending.map(([id, who]) => [id, who])).toEqual([[entry![0], "thief"]]);
    expect(await admin.xlen(names.groupStream("b1"))).toBe(0);
    // The acked entries leave no count; the one another consumer took keeps the start this handler made.
    expect(await admin.hgetall(names.starts("b1"))).toEqual({ [`${entry![0]} ${topicStream}`]: "1" });
    await sub.close();
  });

  it("redis - stream ids order by time then sequence, as numbers (the settle scans between the lowest and highest)", () => {
    const ids = ["10-0", "9-5", "9-10", "100-0", "9-9", "1733-1", "1733-0"];
    expect([...ids].sort(compareIds)).toEqual(["9-5", "9-9", "9-10", "10-0", "100-0", "1733-0", "1733-1"]);
    expect(compareIds("5-5", "5-5")).toBe(0);
  });

  it("redis - the starts of one turn are counted one each; the acks that follow remove their counts and leave the unsettled one's", async () => {
    const t = open();
    const sub = await t.subscribe({ group: "b2", topics: ["starts"], prefetch: 10, ordered: false, leaseMs: 30_000 });
    await t.publish([message("starts", "s1"), message("starts", "s2"), message("starts", "s3")]);
    const got = await receiveAll(sub, 3);
    expect(got).toHaveLength(3);
    for (const d of got) expect(d.start?.()).toBe(true);
    const [first, second, third] = got;
    await Promise.all([first!.ack(), second!.ack()]);
    const counts = await admin.hgetall(names.starts("b2"));
    const stream = names.topicStream("starts");
    const thirdEntry = (await admin.xpending(stream, "b2", "-", "+", 10)) as Array<[string]>;
    expect(thirdEntry).toHaveLength(1);
    expect(counts).toEqual({ [`${thirdEntry[0]![0]} ${stream}`]: "1" });
    await third!.ack();
    expect(await admin.hlen(names.starts("b2"))).toBe(0);
    await sub.close();
  });

  it("redis - an entry whose one start was sent on its own (a turn before its ack) leaves no count once acked, acked in one turn with one started in that turn (two codes in one settle)", async () => {
    const t = open();
    const sub = await t.subscribe({ group: "b4", topics: ["later"], prefetch: 10, ordered: false, leaseMs: 30_000 });
    await t.publish([message("later", "l1"), message("later", "l2")]);
    const [d, e] = await receiveAll(sub, 2);
    expect(d!.attempt).toBe(1);
    expect(d!.start?.()).toBe(true);
    // The start goes at the end of its turn, on its own: counted before the ack comes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await admin.hlen(names.starts("b4"))).toBe(1);
    expect(e!.start?.()).toBe(true);
    // The one started in this turn first: a settle that gave both its code would leave the other's count.
    await Promise.all([e!.ack(), d!.ack()]);
    expect(await admin.hlen(names.starts("b4"))).toBe(0);
    expect(((await admin.xpending(names.topicStream("later"), "b4")) as [number])[0]).toBe(0);
    await sub.close();
  });

  it("redis - an entry started, released and taken by another consumer (attempt 2, delivered once since the release) leaves no count when its second start and its ack go in one turn", async () => {
    const a = open();
    const subA = await a.subscribe({ group: "b5", topics: ["again"], prefetch: 10, ordered: false, leaseMs: 30_000 });
    await a.publish([message("again", "r1")]);
    const [first] = await receiveAll(subA, 1);
    expect(first!.start?.()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first!.release();
    await subA.close();
    const stream = names.topicStream("again");
    // The release brought the delivery count back down: the next claim makes it 1 again, and only the starts hash knows this is a second attempt.
    expect(((await admin.xpending(stream, "b5", "-", "+", 10)) as Array<[string, string, number, number]>)[0]![3]).toBe(0);
    const b = open();
    const subB = await b.subscribe({ group: "b5", topics: ["again"], prefetch: 10, ordered: false, leaseMs: 30_000 });
    const [second] = await receiveAll(subB, 1);
    expect(second!.attempt).toBe(2);
    expect(((await admin.xpending(stream, "b5", "-", "+", 10)) as Array<[string, string, number, number]>)[0]![3]).toBe(1);
    expect(second!.start?.()).toBe(true);
    await second!.ack();
    expect(await admin.hlen(names.starts("b5"))).toBe(0);
    await subB.close();
  });

  it("redis - a settle whose ids span more than a page (1000) of the consumer's pending entries still finds its own: first and last of 1,100 held acked together", async () => {
    const t = open();
    const sub = await t.subscribe({ group: "b3", topics: ["wide"], prefetch: 1_200, ordered: false, leaseMs: 30_000 });
    const batch = Array.from({ length: 1_100 }, (_, i) => message("wide", `w${i}`));
    expect((await t.publish(batch)).every((r) => r === undefined)).toBe(true);
    const got = await receiveAll(sub, 1_100);
    expect(got).toHaveLength(1_100);
    const first = got.find((d) => body(d) === "w0")!;
    const last = got.find((d) => body(d) === "w1099")!;
    await Promise.all([first.ack(), last.ack()]);
    const stream = names.topicStream("wide");
    const summary = (await admin.xpending(stream, "b3")) as [number, string, string];
    expect(summary[0]).toBe(1_098);
    await Promise.all(got.filter((d) => d !== first && d !== last).map((d) => d.ack()));
    expect(((await admin.xpending(stream, "b3")) as [number])[0]).toBe(0);
    await sub.close();
  });
});

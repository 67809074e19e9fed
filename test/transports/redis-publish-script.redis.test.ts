/**
 * A batch is published through one script call per stream, its entries
 * packed into one argument (publisher.ts, entry-pack.ts): each message still
 * gets its own XADD's verdict, a stream's entries keep the batch's order,
 * and every field reaches the stream byte for byte.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MessageTooLargeError, TransientError, UnroutableError } from "../../src/errors.js";
import type { OutgoingMessage } from "../../src/transport/transport.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { redisTransport, type RedisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";

const prefix = `pubscript-redis-${randomUUID().slice(0, 8)}:`;
const names = redisNames(prefix);
const opened: RedisTransport[] = [];
const admin = new Redis(REDIS_URL);

function open(): RedisTransport {
  const t = redisTransport({ url: REDIS_URL, prefix });
  opened.push(t);
  return t;
}

function message(topic: string, id: string, headers: Record<string, string> = {}): OutgoingMessage {
  return { topic, id, key: undefined, wire: { headers: { "ce-id": id, ...headers }, body: new TextEncoder().encode(id) } };
}

/** The ce-id of each entry of a topic's stream, in stream order. */
async function storedIds(topic: string): Promise<string[]> {
  const entries = await admin.xrange(names.topicStream(topic), "-", "+");
  return entries.map(([, f]) => f[f.indexOf("ce-id") + 1]!);
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  admin.disconnect();
});

describe("redis - publish script", () => {
  it("redis - one batch over several streams gives each message its own verdict: confirmed, unroutable, or refused by the server", async () => {
    const t = open();
    await t.bind("ok-group", ["ok"]);
    // A key of another type where a stream should be: the server refuses each XADD to it (WRONGTYPE).
    await admin.set(names.topicStream("wrong"), "not a stream");
    const batch = [message("ok", "a"), message("nobody", "b"), message("wrong", "c"), message("ok", "d"), message("wrong", "e")];
    const results = await t.publish(batch);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeInstanceOf(UnroutableError);
    expect(results[2]).toBeInstanceOf(TransientError);
    expect(String((results[2] as Error).message)).toMatch(/WRONGTYPE/);
    expect(results[3]).toBeUndefined();
    expect(results[4]).toBeInstanceOf(TransientError);
    expect(await storedIds("ok")).toEqual(["a", "d"]);
  });

  it("redis - a batch larger than one script call takes (several calls) keeps its order in the stream", async () => {
    const t = open();
    await t.bind("many-group", ["many"]);
    const batch = Array.from({ length: 1_300 }, (_, i) => message("many", `m${i}`));
    expect((await t.publish(batch)).filter((r) => r !== undefined)).toEqual([]);
    expect(await storedIds("many")).toEqual(batch.map((m) => m.id));
  });

  it("redis - a message with more fields than the script takes goes as an XADD of its own, in its place", async () => {
    const t = open();
    await t.bind("wide-group", ["wide"]);
    const wide: Record<string, string> = {};
    for (let i = 0; i < 600; i++) wide[`x-h${i}`] = String(i);
    const batch = [message("wide", "before"), message("wide", "wide", wide), message("wide", "after")];
    expect(await t.publish(batch)).toEqual([undefined, undefined, undefined]);
    expect(await storedIds("wide")).toEqual(["before", "wide", "after"]);
    const entries = await admin.xrange(names.topicStream("wide"), "-", "+");
    expect(entries[1]![1]).toHaveLength(2 * 602);
  });

  it("redis - header values of every length and width reach the stream byte for byte (packed lengths at each header size)", async () => {
    const t = open();
    await t.bind("bytes-group", ["bytes"]);
    // ASCII, 2-, 3- and 4-byte characters, at lengths around each MessagePack header boundary (32, 256, 65536 bytes).
    const units = ["a", "é", "✓", "𝄞"];
    const lengths = [0, 1, 10, 11, 31, 32, 33, 85, 86, 255, 256, 21_845, 21_846, 65_535, 65_536];
    const batch: OutgoingMessage[] = [];
    for (const u of units) for (const n of lengths) batch.push(message("bytes", `${u}${n}`, { "x-value": u.repeat(Math.ceil(n / u.length)) }));
    expect((await t.publish(batch)).filter((r) => r !== undefined)).toEqual([]);
    const stored = (await admin.xrangeBuffer(names.topicStream("bytes"), "-", "+")) as Array<[Buffer, Buffer[]]>;
    expect(stored).toHaveLength(batch.length);
    stored.forEach(([, f], i) => {
      const m = batch[i]!;
      const value = f[f.findIndex((b, j) => j % 2 === 0 && b.toString() === "x-value") + 1]!;
      expect(value.equals(Buffer.from(m.wire.headers["x-value"]!)), m.id).toBe(true);
    });
  });

  it("redis - a message over the size limit is refused alone, also as the first of its stream's call, and the rest keep their order", async () => {
    const t = redisTransport({ url: REDIS_URL, prefix, maxMessageBytes: 200 });
    opened.push(t);
    await t.bind("limit-group", ["limit"]);
    const batch = [
      message("limit", "big-headers", { "x-pad": "p".repeat(190) }),
      message("limit", "first"),
      { ...message("limit", "big-body"), wire: { headers: { "ce-id": "big-body" }, body: new Uint8Array(201) } },
      message("limit", "second"),
    ];
    const results = await t.publish(batch);
    expect(results[0]).toBeInstanceOf(MessageTooLargeError);
    expect(results[2]).toBeInstanceOf(MessageTooLargeError);
    expect([results[1], results[3]]).toEqual([undefined, undefined]);
    expect(await storedIds("limit")).toEqual(["first", "second"]);
  });

  it("redis - a header that starts in ASCII and goes on in other characters reaches the stream byte for byte", async () => {
    const t = open();
    await t.bind("mixed-group", ["mixed"]);
    const values = ["abc✓", `${"a".repeat(30)}é`, `${"a".repeat(31)}é`, `${"a".repeat(127)}𝄞`, `${"a".repeat(128)}é`, "\u007f\u0080"];
    const batch = values.map((v, i) => message("mixed", `v${i}`, { "x-value": v }));
    expect((await t.publish(batch)).filter((r) => r !== undefined)).toEqual([]);
    const stored = (await admin.xrangeBuffer(names.topicStream("mixed"), "-", "+")) as Array<[Buffer, Buffer[]]>;
    expect(stored.map(([, f]) => f[f.findIndex((b, j) => j % 2 === 0 && b.toString() === "x-value") + 1]!.toString())).toEqual(values);
  });
});

/**
 * A body reaches the stream byte for byte whether it goes as a string (valid
 * UTF-8, fields.ts) or as a Buffer (anything else), and comes back the same.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { MessageTooLargeError } from "../../src/errors.js";
import type { OutgoingMessage } from "../../src/transport/transport.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";

const prefix = `body-redis-${randomUUID().slice(0, 8)}:`;
const admin = new Redis(REDIS_URL);

afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  admin.disconnect();
});

const bodies: Record<string, Uint8Array> = {
  json: new TextEncoder().encode(JSON.stringify({ note: "naïve café ✓ 𝄞", crlf: "a\r\nb", nul: "\u0000" })),
  // Not UTF-8: a lone continuation byte, an overlong encoding, a surrogate half, a byte order mark, NUL.
  binary: Uint8Array.from([0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff, 0x00, 0x0d, 0x0a]),
  bom: Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  empty: new Uint8Array(),
};

describe("redis - message bodies", () => {
  it("redis - UTF-8 and non-UTF-8 bodies are stored and delivered byte for byte", async () => {
    const t = redisTransport({ url: REDIS_URL, prefix });
    try {
      const sub = await t.subscribe({ group: "bytes", topics: ["bodies"], prefetch: 10, ordered: false, leaseMs: 30_000 });
      const batch: OutgoingMessage[] = Object.entries(bodies).map(([id, body]) => ({ topic: "bodies", id, key: undefined, wire: { headers: { "ce-id": id }, body } }));
      expect(await t.publish(batch)).toEqual(batch.map(() => undefined));

      const stored = (await admin.xrangeBuffer(redisNames(prefix).topicStream("bodies"), "-", "+")) as Array<[Buffer, Buffer[]]>;
      const field = (f: Buffer[], name: string): Buffer => f[f.findIndex((b, i) => i % 2 === 0 && b.toString() === name) + 1]!;
      const storedBody = new Map(stored.map(([, f]) => [field(f, "ce-id").toString(), field(f, ":body")]));
      for (const [id, body] of Object.entries(bodies)) expect(storedBody.get(id)!.equals(Buffer.from(body)), id).toBe(true);

      const got = [];
      for (let i = 0; i < 10 && got.length < batch.length; i++) got.push(...(await sub.receive(batch.length - got.length, 500)));
      expect(got).toHaveLength(batch.length);
      for (const d of got) expect(Buffer.from(d.wire.body).equals(Buffer.from(bodies[d.wire.headers["ce-id"]!]!)), d.wire.headers["ce-id"]).toBe(true);
      await Promise.all(got.map((d) => d.ack()));
      await sub.close();
    } finally {
      await t.close();
    }
  });

  it("redis - the size limit counts bytes, not characters: a message of exactly the limit goes, one byte more is MessageTooLargeError", async () => {
    const t = redisTransport({ url: REDIS_URL, prefix, maxMessageBytes: 100 });
    try {
      await t.bind("sized", ["sized"]);
      // Headers: "ce-id" (5) + "m" (1) + "x-note" (6) + 40 × "é" (80) = 92 bytes, 52 characters.
      const wire = (bodyBytes: number) => ({ headers: { "ce-id": "m", "x-note": "é".repeat(40) }, body: new Uint8Array(bodyBytes).fill(0x61) });
      const [fits, over] = await t.publish([
        { topic: "sized", id: "fits", key: undefined, wire: wire(8) },
        { topic: "sized", id: "over", key: undefined, wire: wire(9) },
      ]);
      expect(fits).toBeUndefined();
      expect(over).toBeInstanceOf(MessageTooLargeError);
    } finally {
      await t.close();
    }
  });
});

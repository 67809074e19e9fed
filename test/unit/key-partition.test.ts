import { describe, expect, it } from "vitest";
import { keyHash, keyPartition } from "../../src/runtime/key-hash.js";
import { checkPartitions, partitionBindingPattern, partitionRoutingKey } from "../../src/transports/rabbitmq/partition-names.js";

/** The reference: FNV-1a over bytes, as any other implementation would write it. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

describe("key partition", () => {
  it("key partition - keyHash is 32-bit FNV-1a over UTF-8 (published vectors, and astral, lone-surrogate and non-ASCII keys)", () => {
    expect(keyHash("")).toBe(0x811c9dc5);
    expect(keyHash("a")).toBe(0xe40c292c);
    expect(keyHash("foobar")).toBe(0xbf9cf968);
    for (const key of ["order-4821", "é", "日本語", "🙂 key", "\ud800x", "x\udc00", "\u0000\u007f\u0080\u07ff\u0800\uffff"]) {
      expect(keyHash(key)).toBe(fnv1a(new TextEncoder().encode(key)));
    }
  });

  it("rabbitmq - a key's routing key matches exactly the binding of its partition, for every partition count", () => {
    const matches = (pattern: string, routingKey: string): boolean => {
      if (pattern === "#") return true;
      const suffix = pattern.slice(2);
      return routingKey.endsWith(suffix);
    };
    for (const n of [1, 2, 16, 256]) {
      for (const key of ["a", "b", "order-1", "order-2", "k59", "日本"]) {
        const rk = partitionRoutingKey(keyHash(key));
        const hits = Array.from({ length: n }, (_, i) => i).filter((i) => matches(partitionBindingPattern(i, n), rk));
        expect(hits).toEqual([keyPartition(key, n)]);
      }
    }
    expect(() => checkPartitions(12)).toThrow(/power of two/);
    expect(() => checkPartitions(512)).toThrow(/power of two/);
  });
});

/**
 * A packed read (read-unpack.ts) gives each entry its own strings, though
 * short ones are taken from the entry before when their bytes are the same,
 * and headers in a record without a prototype.
 */
import { describe, expect, it } from "vitest";
import { unpackRead } from "../../src/transports/redis/read-unpack.js";

/** What cmsgpack makes of an XREADGROUP reply: arrays and strings (fixstr, str8, str16). */
function pack(value: unknown): Buffer {
  if (Array.isArray(value)) {
    const items = value.map(pack);
    const head = value.length < 16 ? Buffer.from([0x90 | value.length]) : Buffer.from([0xdc, value.length >> 8, value.length & 0xff]);
    return Buffer.concat([head, ...items]);
  }
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  const head = bytes.length < 32 ? Buffer.from([0xa0 | bytes.length]) : bytes.length < 256 ? Buffer.from([0xd9, bytes.length]) : Buffer.from([0xda, bytes.length >> 8, bytes.length & 0xff]);
  return Buffer.concat([head, bytes]);
}

const entry = (id: string, fields: Array<string | Buffer>): unknown[] => [id, fields];

describe("redis - packed read", () => {
  it("redis - each entry's strings are its own: same-length values at the same place, names and values that change from entry to entry", () => {
    const reply = pack([["s", [
      entry("1-0", ["ce-id", "aaaa", "ce-type", "t.one", "x-h", "same", ":body", "b1"]),
      entry("1-1", ["ce-id", "aaab", "ce-type", "t.two", "x-h", "same", ":body", "b2"]),
      entry("1-2", ["ce-id", "aaab", "x-g", "t.two", "x-h", "sáme", ":body", "b3"]),
      entry("1-3", ["ce-id", "x".repeat(40), "ce-type", "t.one", "x-h", "same", ":body", "b4"]),
    ]]]);
    const [stream] = unpackRead(reply);
    expect(stream!.stream).toBe("s");
    expect(stream!.entries.map((e) => ({ ...e.entry.wire.headers }))).toEqual([
      { "ce-id": "aaaa", "ce-type": "t.one", "x-h": "same" },
      { "ce-id": "aaab", "ce-type": "t.two", "x-h": "same" },
      { "ce-id": "aaab", "x-g": "t.two", "x-h": "sáme" },
      { "ce-id": "x".repeat(40), "ce-type": "t.one", "x-h": "same" },
    ]);
    expect(stream!.entries.map((e) => Buffer.from(e.entry.wire.body).toString())).toEqual(["b1", "b2", "b3", "b4"]);
  });

  it("redis - a header named __proto__ is an own header of a record without a prototype", () => {
    const [stream] = unpackRead(pack([["s", [entry("1-0", ["__proto__", "polluted", "constructor", "c", ":body", "b"])]]]));
    const headers = stream!.entries[0]!.entry.wire.headers;
    expect(Object.getPrototypeOf(headers)).toBeNull();
    expect(Object.keys(headers)).toEqual(["__proto__", "constructor"]);
    expect(headers["__proto__"]).toBe("polluted");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

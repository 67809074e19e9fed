/**
 * An entry's fields back into a message (fields.ts): header names are taken
 * from a cache of the names at the same place in the entry before, so
 * entries whose names differ at a place (in bytes, not only in length) must
 * each keep their own.
 */
import { describe, expect, it } from "vitest";
import { fromFields, toFields } from "../../src/transports/redis/fields.js";

/** Fields as the reply gives them: slices of one shared buffer, as the parser's are of its socket chunk. */
function asReply(fields: ReadonlyArray<string | Buffer>): Buffer[] {
  const whole = Buffer.concat(fields.map((f) => Buffer.from(f)));
  const out: Buffer[] = [];
  let at = 0;
  for (const f of fields) {
    const n = Buffer.byteLength(f);
    out.push(whole.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe("redis - entry fields", () => {
  it("redis - names differing at the same place, by a byte or by length, each decode as their own", () => {
    const entries: Array<Record<string, string>> = [
      { "ce-id": "1", "x-aa": "first", "x-naïve": "é" },
      { "ce-id": "2", "x-ab": "same length, one byte differs", "x-naïve": "é" },
      { "ce-id": "3", "x-abc": "longer", "x-naïvf": "last byte differs" },
      { "ce-id": "4", "x-a": "shorter" },
      { "ce-id": "5", "x-aa": "first again", "x-naïve": "é" },
    ];
    for (const headers of entries) {
      const parsed = fromFields(asReply(toFields({ headers, body: new TextEncoder().encode(`{"n":${headers["ce-id"]}}`) })));
      expect({ ...parsed.wire.headers }).toEqual(headers);
      expect(new TextDecoder().decode(parsed.wire.body)).toBe(`{"n":${headers["ce-id"]}}`);
      expect(parsed.topic).toBeUndefined();
    }
  });

  it("redis - a group stream's copy gives its :topic; other fields of missive's own are not headers", () => {
    const parsed = fromFields(asReply(toFields({ headers: { "ce-id": "g" }, body: Uint8Array.from([0xff, 0x00]) }, { ":topic": "orders.placed", ":other": "x" })));
    expect(parsed.topic).toBe("orders.placed");
    expect({ ...parsed.wire.headers }).toEqual({ "ce-id": "g" });
    expect([...parsed.wire.body]).toEqual([0xff, 0x00]);
  });
});

import { describe, expect, it } from "vitest";
import { DecodeError, ErrorCodes, MissiveError } from "../../src/errors.js";
import { decodeUtf8, parseJsonSafely } from "../../src/envelope/safe-json.js";

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  expect.fail("expected a throw");
}

function expectDecodeError(fn: () => unknown, message?: RegExp): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(DecodeError);
  expect((err as MissiveError).code).toBe(ErrorCodes.DECODE);
  if (message) expect((err as Error).message).toMatch(message);
}

const nested = (levels: number): string => "[".repeat(levels) + "]".repeat(levels);
const nestedObjects = (levels: number): string => '{"a":'.repeat(levels - 1) + "{}" + "}".repeat(levels - 1);

describe("safe-json decodeUtf8", () => {
  it("safe-json - decodes valid UTF-8, multi-byte included", () => {
    const text = "héllo € 😀 日本";
    expect(decodeUtf8(Buffer.from(text))).toBe(text);
    expect(decodeUtf8(new Uint8Array())).toBe("");
  });

  it.each([
    ["a lone continuation byte", [0x80]],
    ["an invalid byte", [0x7b, 0xff, 0x7d]],
    ["a truncated 3-byte sequence", [0x22, 0xe2, 0x82]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["an encoded UTF-16 surrogate", [0xed, 0xa0, 0x80]],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("safe-json - rejects %s as a DecodeError, never replacing it", (_what, bytes) => {
    expectDecodeError(() => decodeUtf8(Uint8Array.from(bytes)), /UTF-8/);
  });

  it("safe-json - the decoder is usable again after a failure", () => {
    expectDecodeError(() => decodeUtf8(Uint8Array.from([0xe2, 0x82])));
    expect(decodeUtf8(Buffer.from("ok €"))).toBe("ok €");
  });
});

describe("safe-json parseJsonSafely", () => {
  it("safe-json - parses ordinary JSON", () => {
    expect(parseJsonSafely('{"a":[1,"x",null,true,{"b":2.5}]}')).toEqual({ a: [1, "x", null, true, { b: 2.5 }] });
    expect(parseJsonSafely("null")).toBeNull();
    expect(parseJsonSafely('"s"')).toBe("s");
  });

  it.each(["", "{", "{'a':1}", "undefined", "[1,]", "NaN", '{"a":1}x'])("safe-json - bad JSON %j is a DecodeError with its cause", (text) => {
    const err = thrown(() => parseJsonSafely(text));
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as Error).message).toMatch(/not valid JSON/);
    expect((err as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ["at the top", '{"__proto__":{"polluted":"yes"}}'],
    ["nested in an object", '{"a":{"b":{"__proto__":{"polluted":"yes"}}}}'],
    ["nested in an array", '[1,[2,{"__proto__":{"polluted":"yes"}}]]'],
    ["holding a primitive", '{"__proto__":"yes"}'],
    ["holding null", '{"x":{"__proto__":null}}'],
    ["deep down", '{"a":'.repeat(40) + '{"__proto__":{"polluted":"yes"}}' + "}".repeat(40)],
  ])("safe-json - a __proto__ key %s is refused, and nothing is polluted", (_where, text) => {
    expectDecodeError(() => parseJsonSafely(text), /__proto__/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it.each([
    ["constructor.prototype", '{"constructor":{"prototype":{"polluted":"yes"}}}'],
    ["nested constructor", '{"a":[{"constructor":{"prototype":{"polluted":"yes"}}}]}'],
    ["constructor holding an array", '{"constructor":[]}'],
  ])("safe-json - %s is refused", (_what, text) => {
    expectDecodeError(() => parseJsonSafely(text), /constructor/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("safe-json - a constructor key holding a primitive is ordinary data", () => {
    expect(parseJsonSafely('{"constructor":"Car","prototype":{"x":1}}')).toEqual({ constructor: "Car", prototype: { x: 1 } });
    expect(parseJsonSafely('{"constructor":null}')).toEqual({ constructor: null });
  });

  it("safe-json - nesting of 64 levels is accepted, 65 is refused", () => {
    expect(() => parseJsonSafely(nested(64))).not.toThrow();
    expect(() => parseJsonSafely(nestedObjects(64))).not.toThrow();
    expectDecodeError(() => parseJsonSafely(nested(65)), /deeper than 64/);
    expectDecodeError(() => parseJsonSafely(nestedObjects(65)), /deeper than 64/);
  });

  it("safe-json - absurd nesting is a DecodeError, not a stack overflow", () => {
    expectDecodeError(() => parseJsonSafely(nested(200_000)));
    expectDecodeError(() => parseJsonSafely(nestedObjects(200_000)));
  });

  it("safe-json - with Object.prototype polluted by enumerable properties, only a body's own keys are checked (the key walk skips inherited ones)", () => {
    const proto = Object.prototype as Record<string, unknown>;
    Object.defineProperty(proto, "constructor", { value: Object, enumerable: true, configurable: true, writable: true });
    proto["missivePolluted"] = { deep: true };
    try {
      expect(parseJsonSafely('{"a":{"b":[1,{"c":2}]}}')).toEqual({ a: { b: [1, { c: 2 }] } });
      expectDecodeError(() => parseJsonSafely('{"a":{"__proto__":{}}}'), /__proto__/);
      expectDecodeError(() => parseJsonSafely(nestedObjects(65)), /deeper than 64/);
    } finally {
      delete proto["missivePolluted"];
      Object.defineProperty(proto, "constructor", { value: Object, enumerable: false, configurable: true, writable: true });
    }
    // Unpolluted again: the same checks on the fast walk.
    expect(parseJsonSafely('{"a":{"b":[1,{"c":2}]}}')).toEqual({ a: { b: [1, { c: 2 }] } });
    expectDecodeError(() => parseJsonSafely('{"a":{"__proto__":{}}}'), /__proto__/);
  });

  it("safe-json - wide but shallow data is fine", () => {
    const wide = JSON.stringify(Array.from({ length: 50_000 }, (_, i) => ({ i, s: String(i) })));
    expect((parseJsonSafely(wide) as unknown[]).length).toBe(50_000);
  });
});

import { describe, expect, it } from "vitest";
import { BAD_HEADERS_HEADER, decodeHeaders, encodeHeaders } from "../../src/transports/sqlite/headers-json.js";

// Pins what decodeHeaders hands the runtime, whether the parsed object is adopted (missive's own rows:
// lower-case names, string values) or copied (anything else): a null-prototype record of strings.
describe("sqlite headers column", () => {
  it("sqlite headers - missive's own headers come back as a null-prototype record, same names in the same order", () => {
    const written = { "ce-id": "1", "ce-type": "t", "content-type": "application/json", traceparent: "00-x" };
    const h = decodeHeaders(encodeHeaders(written));
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect(Object.keys(h)).toEqual(Object.keys(written));
    expect({ ...h }).toEqual(written);
    expect(h["toString"]).toBeUndefined();
    expect("hasOwnProperty" in h).toBe(false);
  });

  it("sqlite headers - a __proto__ name stays an own header and never becomes the prototype", () => {
    for (const text of ['{"__proto__": "x", "ce-id": "1"}', '{"__proto__": {"polluted": "yes"}, "ce-id": "1"}', '{"__PROTO__": "x", "ce-id": "1"}']) {
      const h = decodeHeaders(text);
      expect(Object.getPrototypeOf(h)).toBeNull();
      expect(Object.keys(h)).toEqual(["__proto__", "ce-id"]);
      expect(typeof h["__proto__"]).toBe("string");
      expect((h as Record<string, unknown>)["polluted"]).toBeUndefined();
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("sqlite headers - other rows are copied: names lower-cased, values made strings, null and undefined dropped", () => {
    const h = decodeHeaders('{"CE-ID": "1", "n": 5, "b": true, "o": {"a": 1}, "z": null, "constructor": "c"}');
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect({ ...h }).toEqual({ "ce-id": "1", n: "5", b: "true", o: '{"a":1}', constructor: "c" });
  });

  it("sqlite headers - text that is not a JSON object is kept under one diagnostic header", () => {
    for (const text of ["not json", "[1]", "null", '"s"']) {
      const h = decodeHeaders(text);
      expect(Object.getPrototypeOf(h)).toBeNull();
      expect({ ...h }).toEqual({ [BAD_HEADERS_HEADER]: text });
    }
  });
});

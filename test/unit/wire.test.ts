import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { CE_PREFIX, CONTENT_TYPE, JSON_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, emptyHeaders, toHeaderRecord } from "../../src/envelope/wire.js";

describe("wire", () => {
  it("wire - the binding names are the CloudEvents HTTP ones", () => {
    expect(CE_PREFIX).toBe("ce-");
    expect(CONTENT_TYPE).toBe("content-type");
    expect(JSON_CONTENT_TYPE).toBe("application/json");
    expect(STRUCTURED_CONTENT_TYPE).toBe("application/cloudevents+json");
  });

  it("wire - emptyHeaders has no prototype", () => {
    const h = emptyHeaders();
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect(Object.keys(h)).toEqual([]);
    expect(h["toString"]).toBeUndefined();
  });

  it("wire - emptyHeaders takes __proto__ and constructor as own headers and stays in V8's fast mode", () => {
    // Fast mode is what makes it cheaper than Object.create(null) (a hash dictionary); the native check
    // needs the flag, set here only for this worker's later-compiled functions.
    setFlagsFromString("--allow-natives-syntax");
    const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;
    const h = emptyHeaders();
    for (const name of ["ce-id", "__proto__", "constructor", "content-type"]) h[name] = `v-${name}`;
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect(Object.keys(h)).toEqual(["ce-id", "__proto__", "constructor", "content-type"]);
    expect(h["__proto__"]).toBe("v-__proto__");
    expect(Object.getOwnPropertyDescriptor(h, "constructor")).toMatchObject({ value: "v-constructor", writable: true, enumerable: true });
    expect(({} as Record<string, unknown>)["ce-id"]).toBeUndefined();
    expect(hasFastProperties(h)).toBe(true);
  });

  it("wire - toHeaderRecord lower-cases names and turns values into strings", () => {
    const h = toHeaderRecord([
      ["CE-ID", "abc"],
      ["Content-Type", "application/json"],
      ["n", 42],
      ["b", Buffer.from("bytes €")],
      ["t", true],
      ["skip-undefined", undefined],
      ["skip-null", null],
    ]);
    expect({ ...h }).toEqual({ "ce-id": "abc", "content-type": "application/json", n: "42", b: "bytes €", t: "true" });
    expect(Object.getPrototypeOf(h)).toBeNull();
  });

  it("wire - toHeaderRecord reads a Map or any iterable of pairs", () => {
    expect({ ...toHeaderRecord(new Map([["A", "1"]])) }).toEqual({ a: "1" });
    expect({ ...toHeaderRecord(Object.entries({ B: "2" })) }).toEqual({ b: "2" });
  });

  it("wire - names differing only in case collapse to the last one", () => {
    expect({ ...toHeaderRecord([["X-A", "1"], ["x-a", "2"]]) }).toEqual({ "x-a": "2" });
  });

  it("wire - headers named __proto__ and constructor are plain own entries, and pollute nothing", () => {
    const h = toHeaderRecord([
      ["__proto__", "p"],
      ["constructor", "c"],
      ["prototype", "q"],
      ["__PROTO__", "P"],
      ["hasOwnProperty", "h"],
    ]);
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect(Object.keys(h).sort()).toEqual(["__proto__", "constructor", "hasownproperty", "prototype"]);
    expect(h["__proto__"]).toBe("P");
    expect(h["constructor"]).toBe("c");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(typeof ({}).hasOwnProperty).toBe("function");
  });

  it("wire - a hostile object value is stringified, never merged", () => {
    const h = toHeaderRecord([["__proto__", { polluted: "yes" }]]);
    expect(h["__proto__"]).toBe("[object Object]");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

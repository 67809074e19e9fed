import * as v from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineMessage, type MessageData, type MessageInput } from "../../src/contract/define-message.js";
import { ConfigurationError } from "../../src/errors.js";

const schema = z.object({ orderId: z.string() });

describe("define-message", () => {
  it("define-message - keeps type, version and schema; version defaults to 1", () => {
    const d = defineMessage({ type: "order.created", schema });
    expect(d.type).toBe("order.created");
    expect(d.version).toBe(1);
    expect(d.minVersion).toBe(1);
    expect(d.schema).toBe(schema);
    expect(defineMessage({ type: "order.created", version: 7, schema }).version).toBe(7);
  });

  it("define-message - the definition is frozen", () => {
    const d = defineMessage({ type: "a", schema });
    expect(Object.isFrozen(d)).toBe(true);
  });

  it.each(["order.created", "a", "A1", "billing:invoice/paid-v2_x", "x".repeat(200), "9lives"])("define-message - type %j is valid", (type) => {
    expect(defineMessage({ type, schema }).type).toBe(type);
  });

  it.each(["", ".hidden", "-x", "_x", "has space", "x".repeat(201), "émoji", "a*b", "a\nb", "a#b", " a"])("define-message - type %j is a ConfigurationError", (type) => {
    expect(() => defineMessage({ type, schema })).toThrow(ConfigurationError);
    expect(() => defineMessage({ type, schema })).toThrow(/invalid message type/);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("define-message - version %d is a ConfigurationError", (version) => {
    expect(() => defineMessage({ type: "a", version, schema })).toThrow(ConfigurationError);
    expect(() => defineMessage({ type: "a", version, schema })).toThrow(/positive integer/);
  });

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["a plain object", {}],
    ["a function", (x: unknown) => x],
    ["a string", "z.string()"],
    ["~standard without validate", { "~standard": { version: 1, vendor: "x" } }],
    ["~standard with a non-function validate", { "~standard": { version: 1, vendor: "x", validate: "yes" } }],
  ])("define-message - a schema that is %s is a ConfigurationError", (_what, bad) => {
    expect(() => defineMessage({ type: "a", schema: bad as never })).toThrow(ConfigurationError);
    expect(() => defineMessage({ type: "a", schema: bad as never })).toThrow(/not a Standard Schema/);
  });

  it("define-message - zod, valibot and hand-written Standard Schemas are all accepted", () => {
    expect(() => defineMessage({ type: "a", schema: z.string() })).not.toThrow();
    expect(() => defineMessage({ type: "a", schema: v.string() })).not.toThrow();
    const custom = { "~standard": { version: 1 as const, vendor: "me", validate: (value: unknown) => ({ value }) } };
    expect(() => defineMessage({ type: "a", schema: custom })).not.toThrow();
  });

  it.each([
    ["from 0", { 0: (x: never) => x }, 3],
    ["from the current version", { 3: (x: never) => x }, 3],
    ["from above the current version", { 4: (x: never) => x }, 3],
    ["on a version-1 contract", { 1: (x: never) => x }, 1],
  ])("define-message - an upcaster %s is a ConfigurationError", (_what, upcast, version) => {
    expect(() => defineMessage({ type: "a", version, schema, upcast })).toThrow(ConfigurationError);
    expect(() => defineMessage({ type: "a", version, schema, upcast })).toThrow(/out of range/);
  });

  it.each(["1.5", "x", "-1", ""])("define-message - an upcaster keyed %j is a ConfigurationError", (key) => {
    expect(() => defineMessage({ type: "a", version: 3, schema, upcast: { [key]: (x: never) => x } as never })).toThrow(ConfigurationError);
  });

  it.each([undefined, null, "x", {}])("define-message - an upcaster that is %j, not a function, is a ConfigurationError", (fn) => {
    // Regression: it used to be accepted, lowering minVersion, and then failed every old message at read time.
    expect(() => defineMessage({ type: "a", version: 2, schema, upcast: { 1: fn as never } })).toThrow(ConfigurationError);
    expect(() => defineMessage({ type: "a", version: 2, schema, upcast: { 1: fn as never } })).toThrow(/not a function/);
  });

  it.each([
    [{ 1: 1, 2: 1 }, 3, 1],
    [{ 2: 1 }, 3, 2],
    [{ 1: 1 }, 3, 3], // a gap at v2: v1 cannot reach v3
    [{}, 3, 3],
    [{ 1: 1, 3: 1, 4: 1 }, 5, 3],
  ])("define-message - upcasters %j on v%d accept from v%d", (keys, version, minVersion) => {
    const upcast = Object.fromEntries(Object.keys(keys).map((k) => [k, (x: never) => x]));
    expect(defineMessage({ type: "a", version, schema, upcast }).minVersion).toBe(minVersion);
  });

  it("define-message - upcastFrom chains v1 → v2 → v3 in order, and is the identity from the current version", () => {
    const calls: string[] = [];
    const d = defineMessage({
      type: "a",
      version: 3,
      schema,
      upcast: {
        2: (v2: { n: number; steps: string[] }) => (calls.push("2→3"), { ...v2, n: v2.n * 10, steps: [...v2.steps, "v3"] }),
        1: (v1: { n: number; steps: string[] }) => (calls.push("1→2"), { ...v1, n: v1.n + 1, steps: [...v1.steps, "v2"] }),
      },
    });
    expect(d.upcastFrom(1, { n: 1, steps: ["v1"] })).toEqual({ n: 20, steps: ["v1", "v2", "v3"] });
    expect(calls).toEqual(["1→2", "2→3"]);
    expect(d.upcastFrom(2, { n: 1, steps: [] })).toEqual({ n: 10, steps: ["v3"] });
    const same = { n: 1 };
    expect(d.upcastFrom(3, same)).toBe(same);
  });

  it("define-message - keyOf uses the key function, and is undefined without one", () => {
    const keyed = defineMessage({ type: "a", schema, key: (o) => `k-${o.orderId}` });
    expect(keyed.keyOf({ orderId: "42" })).toBe("k-42");
    expect(defineMessage({ type: "a", schema }).keyOf({ orderId: "42" })).toBeUndefined();
  });

  it("define-message - data and input types follow the schema's output and input", () => {
    const d = defineMessage({ type: "a", schema: z.object({ n: z.string().transform(Number), c: z.string().default("EUR") }) });
    expectTypeOf<MessageData<typeof d>>().toEqualTypeOf<{ n: number; c: string }>();
    expectTypeOf<MessageInput<typeof d>>().toEqualTypeOf<{ n: string; c?: string | undefined }>();
    expectTypeOf(d.type).toEqualTypeOf<"a">();
    const dv = defineMessage({ type: "b", schema: v.object({ n: v.number() }) });
    expectTypeOf<MessageData<typeof dv>>().toEqualTypeOf<{ n: number }>();
    expect(dv.type).toBe("b");
  });
});

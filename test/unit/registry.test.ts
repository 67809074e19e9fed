import * as v from "valibot";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { defineMessage, type MessageDefinition } from "../../src/contract/define-message.js";
import { ContractRegistry } from "../../src/contract/registry.js";
import type { Envelope } from "../../src/envelope/envelope.js";
import { ConfigurationError, ErrorCodes, MissiveError, PermanentError, SchemaValidationError, UnknownTypeError, UnknownVersionError } from "../../src/errors.js";

function envelope(type: string, dataschema: string, data: unknown): Envelope {
  return { id: "id-1", source: "s", type, specversion: "1.0", time: "", datacontenttype: "application/json", dataschema, extensions: {}, data };
}

/**
 * order.created v3 = { orderId, totalCents, currency }.
 * v1 = { orderId, total } (whole euros), v2 = { orderId, totalCents }.
 */
interface V1 { orderId: string; total: number }
interface V2 { orderId: string; totalCents: number }
const upcast = {
  1: (v1: V1): V2 => ({ orderId: v1.orderId, totalCents: v1.total * 100 }),
  2: (v2: V2) => ({ ...v2, currency: "EUR" }),
};

const CONTRACTS: ReadonlyArray<{ lib: string; def: MessageDefinition }> = [
  {
    lib: "zod",
    def: defineMessage({
      type: "order.created",
      version: 3,
      schema: z.object({ orderId: z.string(), totalCents: z.number().int(), currency: z.string(), note: z.string().default("none") }),
      key: (o) => o.orderId,
      upcast,
    }),
  },
  {
    lib: "valibot",
    def: defineMessage({
      type: "order.created",
      version: 3,
      schema: v.object({ orderId: v.string(), totalCents: v.pipe(v.number(), v.integer()), currency: v.string(), note: v.optional(v.string(), "none") }),
      key: (o) => o.orderId,
      upcast,
    }),
  },
];

function registryWith(def: MessageDefinition): ContractRegistry {
  const r = new ContractRegistry();
  r.add(def);
  return r;
}

async function failure(p: Promise<unknown>): Promise<MissiveError> {
  const err = await p.then(
    () => expect.fail("expected read to fail"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MissiveError);
  return err as MissiveError;
}

describe.each(CONTRACTS)("registry with $lib", ({ def }) => {
  const r = registryWith(def);

  it("registry - current-version data passes, and the schema's output (defaults) is returned", async () => {
    const { definition, data } = await r.read(envelope("order.created", "order.created/v3", { orderId: "1", totalCents: 250, currency: "USD" }));
    expect(definition).toBe(def);
    expect(data).toEqual({ orderId: "1", totalCents: 250, currency: "USD", note: "none" });
  });

  it("registry - v1 data is upcast v1 → v2 → v3, then validated", async () => {
    const { data } = await r.read(envelope("order.created", "order.created/v1", { orderId: "1", total: 3 }));
    expect(data).toEqual({ orderId: "1", totalCents: 300, currency: "EUR", note: "none" });
  });

  it("registry - v2 data is upcast v2 → v3 only", async () => {
    const { data } = await r.read(envelope("order.created", "order.created/v2", { orderId: "1", totalCents: 7 }));
    expect(data).toEqual({ orderId: "1", totalCents: 7, currency: "EUR", note: "none" });
  });

  it("registry - a message without dataschema is taken as the current version (no upcasting)", async () => {
    const { data } = await r.read(envelope("order.created", "", { orderId: "1", totalCents: 1, currency: "GBP" }));
    expect(data).toEqual({ orderId: "1", totalCents: 1, currency: "GBP", note: "none" });
    // v1-shaped data without a dataschema is not upcast: it fails the v3 schema.
    const err = await failure(r.read(envelope("order.created", "", { orderId: "1", total: 3 })));
    expect(err).toBeInstanceOf(SchemaValidationError);
  });

  it("registry - invalid data is a SchemaValidationError with issues and paths", async () => {
    const err = await failure(r.read(envelope("order.created", "order.created/v3", { orderId: 1, totalCents: 1.5, currency: "EUR" })));
    expect(err).toBeInstanceOf(SchemaValidationError);
    expect(err.code).toBe(ErrorCodes.SCHEMA);
    const issues = (err as SchemaValidationError).issues;
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining([["orderId"], ["totalCents"]]));
    expect(err.message).toMatch(/^order\.created v3 does not match its schema/);
  });

  it("registry - upcast data that fails the schema is a SchemaValidationError naming the version it came from", async () => {
    const err = await failure(r.read(envelope("order.created", "order.created/v1", { orderId: "1", total: "three" })));
    expect(err).toBeInstanceOf(SchemaValidationError);
    expect(err.message).toMatch(/^order\.created v1 /);
    expect((err as SchemaValidationError).issues.map((i) => i.path)).toContainEqual(["totalCents"]);
  });

  it("registry - a version above the current one is an UnknownVersionError", async () => {
    const err = await failure(r.read(envelope("order.created", "order.created/v4", { orderId: "1" })));
    expect(err).toBeInstanceOf(UnknownVersionError);
    expect(err.code).toBe(ErrorCodes.UNKNOWN_VERSION);
    expect(err.message).toMatch(/v4 is not accepted \(accepts v1\.\.v3\)/);
  });

  it.each(["order.created/v0", "order.created", "order.created/vX", "https://example.com/order.json"])("registry - dataschema %j is an UnknownVersionError", async (ds) => {
    expect(await failure(r.read(envelope("order.created", ds, {})))).toBeInstanceOf(UnknownVersionError);
  });

  it("registry - an unknown type is an UnknownTypeError", async () => {
    const err = await failure(r.read(envelope("order.cancelled", "order.cancelled/v1", {})));
    expect(err).toBeInstanceOf(UnknownTypeError);
    expect(err.code).toBe(ErrorCodes.UNKNOWN_TYPE);
    expect(err.message).toContain('"order.cancelled"');
  });

  it("registry - keyOf reads the key from validated data", async () => {
    const { data } = await r.read(envelope("order.created", "order.created/v1", { orderId: "k9", total: 1 }));
    expect(def.keyOf(data)).toBe("k9");
  });
});

describe("registry", () => {
  const schema = z.object({ n: z.number() });

  it("registry - a version below the oldest upcastable one is an UnknownVersionError, and no upcaster runs", async () => {
    const from2 = vi.fn((x: { n: number }) => x);
    const def = defineMessage({ type: "t", version: 3, schema, upcast: { 2: from2 } });
    expect(def.minVersion).toBe(2);
    const r = registryWith(def);
    const err = await failure(r.read(envelope("t", "t/v1", { n: 1 })));
    expect(err).toBeInstanceOf(UnknownVersionError);
    expect(err.message).toMatch(/accepts v2\.\.v3/);
    expect(from2).not.toHaveBeenCalled();
  });

  it("registry - a gap in the upcaster chain makes the versions below it unknown", async () => {
    const r = registryWith(defineMessage({ type: "t", version: 3, schema, upcast: { 1: (x: never) => x } }));
    expect(await failure(r.read(envelope("t", "t/v1", { n: 1 })))).toBeInstanceOf(UnknownVersionError);
    expect(await failure(r.read(envelope("t", "t/v2", { n: 1 })))).toBeInstanceOf(UnknownVersionError);
  });

  it("registry - a throwing upcaster is a PermanentError with the cause kept", async () => {
    const boom = new TypeError("cannot read total");
    const r = registryWith(defineMessage({ type: "t", version: 2, schema, upcast: { 1: () => { throw boom; } } }));
    const err = await failure(r.read(envelope("t", "t/v1", { n: 1 })));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe(ErrorCodes.PERMANENT);
    expect(err.cause).toBe(boom);
    expect(err.message).toMatch(/upcasting t from v1 failed/);
  });

  it("registry - an upcaster that throws a non-Error is still a PermanentError", async () => {
    const r = registryWith(defineMessage({ type: "t", version: 2, schema, upcast: { 1: () => { throw "nope"; } } }));
    const err = await failure(r.read(envelope("t", "t/v1", {})));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.cause).toBe("nope");
  });

  it("registry - upcasters see the data as received, and do not run for current data", async () => {
    const from1 = vi.fn((x: { m: number }) => ({ n: x.m }));
    const r = registryWith(defineMessage({ type: "t", version: 2, schema, upcast: { 1: from1 } }));
    await r.read(envelope("t", "t/v2", { n: 1 }));
    expect(from1).not.toHaveBeenCalled();
    const { data } = await r.read(envelope("t", "t/v1", { m: 5 }));
    expect(from1).toHaveBeenCalledWith({ m: 5 });
    expect(data).toEqual({ n: 5 });
  });

  it("registry - two different contracts for one type are a ConfigurationError; the same one twice is fine", () => {
    const a = defineMessage({ type: "t", schema });
    const r = new ContractRegistry();
    r.add(a);
    r.add(a);
    expect(() => r.add(defineMessage({ type: "t", schema }))).toThrow(ConfigurationError);
    expect(r.types()).toEqual(["t"]);
  });

  it("registry - get and types list what was added", () => {
    const a = defineMessage({ type: "a", schema });
    const b = defineMessage({ type: "b", schema });
    const r = new ContractRegistry();
    r.add(a);
    r.add(b);
    expect(r.types()).toEqual(["a", "b"]);
    expect(r.get("a")).toBe(a);
    expect(r.get("b")).toBe(b);
    expect(r.get("c")).toBeUndefined();
    expect(r.get("constructor")).toBeUndefined();
    expect(r.get("__proto__")).toBeUndefined();
  });

  it("registry - a type named like an Object.prototype member is unknown, not a crash", async () => {
    const r = registryWith(defineMessage({ type: "a", schema }));
    for (const t of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(await failure(r.read(envelope(t, "", {})))).toBeInstanceOf(UnknownTypeError);
    }
  });

  // The current version's dataschema is recognised by comparison; every other spelling still goes through versionOf.
  it("registry - the current dataschema, an equivalent spelling and a version too long to name resolve as before", async () => {
    const r = registryWith(defineMessage({ type: "a", schema }));
    for (const ds of ["a/v1", "a/v01", "b/v1", ""]) expect(await r.read(envelope("a", ds, { n: 1 }))).toMatchObject({ data: { n: 1 } });
    const huge = registryWith(defineMessage({ type: "h", version: 1e10, schema }));
    expect(await failure(huge.read(envelope("h", "h/v10000000000", { n: 1 })))).toBeInstanceOf(UnknownVersionError);
    expect(await huge.read(envelope("h", "", { n: 1 }))).toMatchObject({ data: { n: 1 } });
  });
});

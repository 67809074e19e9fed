import type { StandardSchemaV1 } from "@standard-schema/spec";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { validateWith } from "../../src/contract/validate.js";
import { ErrorCodes, SchemaValidationError } from "../../src/errors.js";

async function rejection(p: Promise<unknown>): Promise<SchemaValidationError> {
  const err = await p.then(
    () => expect.fail("expected a SchemaValidationError"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SchemaValidationError);
  expect((err as SchemaValidationError).code).toBe(ErrorCodes.SCHEMA);
  return err as SchemaValidationError;
}

const zodOrder = z.object({
  orderId: z.string().transform((s) => s.toUpperCase()),
  totalCents: z.number().int(),
  currency: z.string().default("EUR"),
  lines: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })),
});

const valibotOrder = v.object({
  orderId: v.pipe(v.string(), v.transform((s) => s.toUpperCase())),
  totalCents: v.pipe(v.number(), v.integer()),
  currency: v.optional(v.string(), "EUR"),
  lines: v.array(v.object({ sku: v.string(), qty: v.pipe(v.number(), v.integer(), v.minValue(1)) })),
});

const LIBS = [
  { lib: "zod", schema: zodOrder as StandardSchemaV1<unknown, unknown> },
  { lib: "valibot", schema: valibotOrder as StandardSchemaV1<unknown, unknown> },
];

describe("validate", () => {
  it.each(LIBS)("validate - $lib: valid data returns the schema's output (transforms and defaults applied)", async ({ schema }) => {
    const out = await validateWith(schema, { orderId: "abc", totalCents: 100, lines: [{ sku: "s", qty: 1 }] }, "order v1");
    expect(out).toEqual({ orderId: "ABC", totalCents: 100, currency: "EUR", lines: [{ sku: "s", qty: 1 }] });
  });

  it.each(LIBS)("validate - $lib: invalid data is a SchemaValidationError with every issue and its path", async ({ schema }) => {
    const err = await rejection(validateWith(schema, { orderId: 5, totalCents: 1.5, lines: [{ sku: "s", qty: 1 }, { sku: "t", qty: 0 }] }, "order.created v2"));
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([["orderId"], ["totalCents"], ["lines", 1, "qty"]]));
    expect(err.issues).toHaveLength(3);
    for (const issue of err.issues) expect(typeof issue.message).toBe("string");
    // Paths are plain property keys, never the validator's path-segment objects.
    for (const p of paths) for (const seg of p ?? []) expect(["string", "number", "symbol"]).toContain(typeof seg);
    expect(err.message).toMatch(/^order\.created v2 does not match its schema: /);
    expect(err.message).toContain("lines.1.qty: ");
  });

  it.each(LIBS)("validate - $lib: a value of the wrong shape entirely is refused", async ({ schema }) => {
    for (const bad of [null, undefined, "x", 1, []]) await rejection(validateWith(schema, bad, "order"));
  });

  it("validate - more than three issues are summarised in the message, all kept in issues", async () => {
    const schema = z.object({ a: z.string(), b: z.string(), c: z.string(), d: z.string(), e: z.string() });
    const err = await rejection(validateWith(schema, {}, "five"));
    expect(err.issues).toHaveLength(5);
    expect(err.message).toMatch(/\(\+2 more\)$/);
  });

  it("validate - an issue without a path is reported without one", async () => {
    const err = await rejection(validateWith(z.string(), 1, "s"));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path ?? []).toEqual([]);
    expect(err.message).toBe(`s does not match its schema: ${err.issues[0]!.message}`);
  });

  it("validate - zod: an asynchronous schema is awaited", async () => {
    const schema = z.string().refine(async (s) => s === "ok", "not ok");
    await expect(validateWith(schema, "ok", "async")).resolves.toBe("ok");
    const err = await rejection(validateWith(schema, "no", "async"));
    expect(err.issues[0]!.message).toBe("not ok");
  });

  it("validate - valibot: an asynchronous schema is awaited", async () => {
    const schema = v.pipeAsync(v.string(), v.checkAsync(async (s) => s === "ok", "not ok"));
    await expect(validateWith(schema, "ok", "async")).resolves.toBe("ok");
    const err = await rejection(validateWith(schema, "no", "async"));
    expect(err.issues[0]!.message).toBe("not ok");
  });

  it("validate - a hand-written Standard Schema with path-segment objects works", async () => {
    const schema: StandardSchemaV1<unknown, never> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: () => ({ issues: [{ message: "nope", path: [{ key: "a" }, 2, { key: "b" }] }] }),
      },
    };
    const err = await rejection(validateWith(schema, {}, "x"));
    expect(err.issues).toEqual([{ message: "nope", path: ["a", 2, "b"] }]);
  });
});

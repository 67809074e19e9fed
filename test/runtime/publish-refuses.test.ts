/**
 * Every `publish` failure is a MissiveError with a code, and publish refuses
 * what a consumer would refuse (issue 14, "Input the envelope lets through").
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, ErrorCodes, MissiveError, missive, type Bus } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { waitFor } from "../support/wait.js";

const Anything = defineMessage({ type: "publish.refuses.anything", schema: z.unknown() });
const Shaped = defineMessage({ type: "publish.refuses.shaped", schema: z.object({ a: z.unknown() }) });
type Tree = { children: Tree[] };
const TreeSchema: z.ZodType<Tree> = z.lazy(() => z.object({ children: z.array(TreeSchema) }));
const Recursive = defineMessage({ type: "publish.refuses.recursive", schema: TreeSchema });
const ThrowingKey = defineMessage({ type: "publish.refuses.key", schema: z.unknown(), key: () => { throw new TypeError("no key here"); } });

let dir: string | undefined;
let bus: Bus | undefined;
afterEach(async () => {
  await bus?.close({ deadline: 500 });
  bus = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openBus(mode?: "binary" | "structured"): Promise<Bus> {
  dir = mkdtempSync(join(tmpdir(), "missive-publish-refuses-"));
  bus = await missive({ service: "refuses", transport: sqliteTransport({ path: join(dir, "q.db") }), ...(mode ? { contentMode: mode } : {}) });
  return bus;
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

async function refusal(p: Promise<unknown>): Promise<MissiveError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err, "publish must reject").toBeDefined();
  expect(err).toBeInstanceOf(MissiveError);
  return err as MissiveError;
}

describe("publish - every failure is a MissiveError with a code", () => {
  it("publish - data nested 10,000 deep, a BigInt, a cycle, a function, a symbol: EncodeError, not RangeError/TypeError", async () => {
    const b = await openBus();
    const cycle: Record<string, unknown> = { name: "loop" };
    cycle["self"] = cycle;
    const cases: Array<[string, unknown]> = [
      ["10,000 deep", nested(10_000)],
      ["a BigInt", { n: 10n }],
      ["a cycle", cycle],
      ["a function", { f: () => 1 }],
      ["a symbol", { s: Symbol("x") }],
      ["NaN", { n: Number.NaN }],
      ["a throwing getter", { get a(): unknown { throw new Error("getter"); } }],
      ["a throwing toJSON", { toJSON: () => { throw new Error("toJSON"); } }],
      ["a top-level function", () => 1],
    ];
    for (const [what, data] of cases) {
      const err = await refusal(b.publish(Anything, data));
      expect(err.code, what).toBe(ErrorCodes.ENCODE);
    }
    // Deep nesting inside a schema that walks the data is still refused with a code.
    expect((await refusal(b.publish(Shaped, { a: nested(10_000) }))).code).toBe(ErrorCodes.ENCODE);
  });

  it("publish - a recursive schema overflowing the stack on data 10,000 deep is a SchemaValidationError, not a RangeError", async () => {
    const b = await openBus();
    let tree: Tree = { children: [] };
    for (let i = 0; i < 10_000; i++) tree = { children: [tree] };
    const err = await refusal(b.publish(Recursive, tree));
    expect(err.code).toBe(ErrorCodes.SCHEMA);
    expect(err.cause).toBeInstanceOf(RangeError);
  });

  it("publish - a contract key function that throws is a MissiveError carrying the cause", async () => {
    const b = await openBus();
    const err = await refusal(b.publish(ThrowingKey, { a: 1 }));
    expect(err.code).toBe(ErrorCodes.ENCODE);
    expect(err.cause).toBeInstanceOf(TypeError);
  });
});

describe("publish - refuses what a consumer would refuse", () => {
  it.each(["binary", "structured"] as const)("publish - %s mode: data deeper than the decoder allows, own __proto__, constructor object, empty id are refused; the deepest allowed is sent", async (mode) => {
    const b = await openBus(mode);
    const handled: unknown[] = [];
    await b.consume(Anything, { group: "reader" }, (data) => void handled.push(data)).ready;
    // nested(n) is n arrays deep; structured mode's document is one more level around the data.
    const deepest = mode === "binary" ? 64 : 63;
    expect((await b.publish(Anything, nested(deepest))).outcome).toBe("confirmed");
    await waitFor(() => handled.length === 1, 5000, "the deepest allowed data handled");
    expect((await refusal(b.publish(Anything, nested(deepest + 1)))).code).toBe(ErrorCodes.ENCODE);
    expect((await refusal(b.publish(Anything, JSON.parse('{"__proto__": {"polluted": 1}}')))).code).toBe(ErrorCodes.ENCODE);
    expect((await refusal(b.publish(Anything, { constructor: { prototype: 1 } }))).code).toBe(ErrorCodes.ENCODE);
    expect((await refusal(b.publish(Anything, { a: 1 }, { id: "" }))).code).toBe(ErrorCodes.ENCODE);
    expect((await refusal(b.publish(Anything, { a: 1 }, { correlationId: "a\nb" }))).code).toBe(ErrorCodes.ENCODE);
    expect((await refusal(b.publish(Anything, { a: 1 }, { extensions: { tenant: "x\u0000" } }))).code).toBe(ErrorCodes.ENCODE);
    expect((await refusal(b.publish(Anything, "x".repeat(2 * 1024 * 1024)))).code).toBe(ErrorCodes.TOO_LARGE);
  });
});

/**
 * One set of rules for both ends (issue 14): anything the encoder (every
 * publish path: producer, outbox, replies, the CLI) accepts, a consumer's
 * decoder decodes; anything a consumer would refuse, the encoder refuses,
 * with a MissiveError, never a bare RangeError or TypeError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEnvelope, encodeEnvelope, type ContentMode } from "../../src/envelope/codec.js";
import type { Envelope } from "../../src/envelope/envelope.js";
import { DEFAULT_LIMITS } from "../../src/envelope/limits.js";
import { toHeaderRecord } from "../../src/envelope/wire.js";
import { ErrorCodes, MissiveError } from "../../src/errors.js";

const MODES: readonly ContentMode[] = ["binary", "structured"];

function nested(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** Data a user might pass, hostile included: BigInts, functions, symbols, cycles, __proto__ keys, constructor objects, depth around the limit. */
const data: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 4, withBigInt: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withObjectString: true }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.tuple(fc.integer({ min: 58, max: 70 }), fc.jsonValue({ maxDepth: 2 })).map(([d, leaf]) => nested(d, leaf)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(`{"ok":1,"__proto__":${JSON.stringify(v ?? null)}}`) as unknown),
  fc.jsonValue({ maxDepth: 2 }).map((v) => ({ constructor: v })),
  fc.constantFrom<unknown>(() => 1, Symbol("s"), 1n, Number.NaN, Number.POSITIVE_INFINITY, { f: () => 1 }, [Symbol("s")], { n: 1n }),
  fc.constant(null).map(() => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle["self"] = { back: cycle };
    return cycle;
  }),
);

const attribute = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }), fc.constant(""));
const time = fc.oneof(attribute, fc.constant("2026-12-06T19:00:00Z"), fc.constant("2026-02-30T00:00:00Z"));

const envelope: fc.Arbitrary<Envelope> = fc.record({
  id: fc.oneof(fc.uuid(), attribute),
  source: fc.oneof(fc.constant("svc"), attribute),
  type: fc.oneof(fc.constant("order.created"), attribute),
  time,
  key: fc.option(attribute, { nil: undefined }),
  correlationid: fc.option(attribute, { nil: undefined }),
  extensions: fc.dictionary(fc.stringMatching(/^x[a-z0-9]{0,8}$/), attribute, { maxKeys: 2 }),
  data,
}).map((r) => {
  const env: Record<string, unknown> = { ...r, specversion: "1.0", datacontenttype: "application/json", dataschema: "order.created/v1" };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as unknown as Envelope;
});

/** What a plain client would send for this envelope in binary mode, with no check at all: what a consumer would then make of it. */
function consumerRefuses(env: Envelope): boolean {
  let body: string | undefined;
  try {
    body = JSON.stringify(env.data ?? null);
  } catch {
    return true; // JSON cannot carry it at all: no consumer can receive it
  }
  if (body === undefined) return true;
  const headers: Array<[string, string]> = [["content-type", env.datacontenttype]];
  for (const name of ["id", "source", "type", "specversion", "time", "dataschema", "key", "correlationid"] as const) {
    const value = env[name];
    if (value !== undefined && !(value === "" && (name === "time" || name === "dataschema"))) headers.push([`ce-${name}`, value]);
  }
  for (const [name, value] of Object.entries(env.extensions)) headers.push([`ce-${name}`, value]);
  if (JSON.stringify(JSON.parse(body)) !== body) return true; // JSON would change it (a function or symbol dropped, NaN written as null)
  return !decodeEnvelope({ headers: toHeaderRecord(headers), body: Buffer.from(body) }, DEFAULT_LIMITS).ok;
}

describe("publish and decode agree", () => {
  it.each(MODES)("publish-decode - %s mode: whatever encodes decodes, and every failure is a MissiveError", (mode) => {
    let accepted = 0;
    fc.assert(
      fc.property(envelope, (env) => {
        let wire;
        try {
          wire = encodeEnvelope(env, mode, DEFAULT_LIMITS);
        } catch (err) {
          expect(err).toBeInstanceOf(MissiveError);
          expect([ErrorCodes.ENCODE, ErrorCodes.TOO_LARGE]).toContain((err as MissiveError).code);
          return;
        }
        accepted++;
        const out = decodeEnvelope(wire, DEFAULT_LIMITS);
        if (!out.ok) throw out.error;
      }),
      { numRuns: 1000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it("publish-decode - whatever a consumer refuses, publish refuses", () => {
    let refusals = 0;
    fc.assert(
      fc.property(envelope, (env) => {
        if (!consumerRefuses(env)) return;
        refusals++;
        expect(() => encodeEnvelope(env, "binary", DEFAULT_LIMITS)).toThrow(MissiveError);
      }),
      { numRuns: 1000 },
    );
    expect(refusals).toBeGreaterThan(50);
  });
});

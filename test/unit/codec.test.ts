import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { decodeEnvelope, encodeEnvelope, type ContentMode, type DecodeResult } from "../../src/envelope/codec.js";
import { KNOWN_ATTRIBUTES, type Envelope } from "../../src/envelope/envelope.js";
import { DEFAULT_LIMITS, type SizeLimits } from "../../src/envelope/limits.js";
import { toHeaderRecord, type WireMessage } from "../../src/envelope/wire.js";
import { EncodeError, ErrorCodes, MessageTooLargeError, MissiveError, type ErrorCode } from "../../src/errors.js";

const MODES: readonly ContentMode[] = ["binary", "structured"];

/** An envelope with every attribute set, extensions included. */
function fullEnvelope(data: unknown = { orderId: "4821", totalCents: 15900, lines: [{ sku: "a", qty: 2 }], note: "héllo € 😀" }): Envelope {
  return {
    id: "0190b6d8-3f3a-7c1e-8f3a-0123456789ab",
    source: "checkout",
    type: "order.created",
    specversion: "1.0",
    time: "2026-11-23T15:50:12.123Z",
    datacontenttype: "application/json",
    dataschema: "order.created/v2",
    key: "4821",
    correlationid: "corr-1",
    causationid: "cause-1",
    replyto: "missive.reply.abc",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    extensions: { tenant: "acme", region: "eu1" },
    data,
  };
}

/** The minimal envelope: only what CloudEvents requires, plus the fields missive always writes. */
function minimalEnvelope(): Envelope {
  return { id: "id-1", source: "s", type: "t", specversion: "1.0", time: "", datacontenttype: "application/json", dataschema: "", extensions: {}, data: null };
}

function headers(entries: Record<string, string>): Record<string, string> {
  return toHeaderRecord(Object.entries(entries));
}

function bytes(text: string): Uint8Array {
  return Buffer.from(text);
}

/** A binary-mode message with valid required attributes, and the given overrides (undefined removes). */
function binary(overrides: Record<string, string | undefined> = {}, body: Uint8Array = bytes('{"a":1}')): WireMessage {
  const base: Record<string, string | undefined> = { "ce-id": "id-1", "ce-source": "s", "ce-type": "t", "ce-specversion": "1.0", "content-type": "application/json", ...overrides };
  return { headers: toHeaderRecord(Object.entries(base)), body };
}

/** A structured-mode message from a JSON-able document. */
function structured(doc: unknown, extraHeaders: Record<string, string> = {}): WireMessage {
  return { headers: headers({ "content-type": "application/cloudevents+json", ...extraHeaders }), body: bytes(JSON.stringify(doc)) };
}

const REQUIRED = { id: "id-1", source: "s", type: "t", specversion: "1.0" };

function expectOk(result: DecodeResult): Envelope {
  if (!result.ok) expect.fail(`decode failed: ${result.error.code} ${result.error.message}`);
  return result.envelope;
}

function expectFailure(result: DecodeResult, code: ErrorCode, message?: RegExp): MissiveError {
  if (result.ok) expect.fail("decode succeeded but should have failed");
  expect(result.error).toBeInstanceOf(MissiveError);
  expect(result.error.code).toBe(code);
  if (message) expect(result.error.message).toMatch(message);
  return result.error;
}

function decode(wire: WireMessage, limits: SizeLimits = DEFAULT_LIMITS): DecodeResult {
  let result: DecodeResult | undefined;
  expect(() => (result = decodeEnvelope(wire, limits))).not.toThrow();
  return result!;
}

afterEach(() => {
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty("polluted");
});

describe("codec round trip", () => {
  it.each(MODES)("codec - %s mode keeps every attribute, extension and the data", (mode) => {
    const env = fullEnvelope();
    const wire = encodeEnvelope(env, mode, DEFAULT_LIMITS);
    expect(decode(wire)).toEqual({ ok: true, envelope: env });
  });

  it.each(MODES)("codec - %s mode keeps a minimal envelope (no optional attributes, null data)", (mode) => {
    const env = minimalEnvelope();
    expect(decode(encodeEnvelope(env, mode, DEFAULT_LIMITS))).toEqual({ ok: true, envelope: env });
  });

  it.each(MODES)("codec - %s mode keeps a content type with parameters", (mode) => {
    const env = { ...fullEnvelope(), datacontenttype: "application/json; charset=utf-8" };
    expect(expectOk(decode(encodeEnvelope(env, mode, DEFAULT_LIMITS))).datacontenttype).toBe("application/json; charset=utf-8");
  });

  it.each(MODES)("codec - %s mode keeps empty-string optional attributes as empty strings", (mode) => {
    const env: Envelope = { ...fullEnvelope(), key: "", correlationid: "", causationid: "" };
    expect(expectOk(decode(encodeEnvelope(env, mode, DEFAULT_LIMITS)))).toEqual(env);
  });

  it.each(MODES)("codec - %s mode encodes undefined data as null", (mode) => {
    const env = { ...minimalEnvelope(), data: undefined };
    expect(expectOk(decode(encodeEnvelope(env, mode, DEFAULT_LIMITS))).data).toBeNull();
  });

  it("codec - binary mode puts attributes in ce- headers and the data alone in the body", () => {
    const env = fullEnvelope();
    const wire = encodeEnvelope(env, "binary", DEFAULT_LIMITS);
    expect({ ...wire.headers }).toEqual({
      "ce-id": env.id,
      "ce-source": env.source,
      "ce-type": env.type,
      "ce-specversion": "1.0",
      "ce-time": env.time,
      "ce-dataschema": env.dataschema,
      "ce-key": env.key,
      "ce-correlationid": env.correlationid,
      "ce-causationid": env.causationid,
      "ce-replyto": env.replyto,
      "ce-tenant": "acme",
      "ce-region": "eu1",
      "content-type": "application/json",
      traceparent: env.traceparent,
      tracestate: env.tracestate,
    });
    expect(JSON.parse(Buffer.from(wire.body).toString("utf8"))).toEqual(env.data);
    expect(Object.getPrototypeOf(wire.headers)).toBeNull();
  });

  it("codec - structured mode is one CloudEvents JSON document; trace context stays in W3C headers", () => {
    const env = fullEnvelope();
    const wire = encodeEnvelope(env, "structured", DEFAULT_LIMITS);
    expect({ ...wire.headers }).toEqual({ "content-type": "application/cloudevents+json", traceparent: env.traceparent, tracestate: env.tracestate });
    const doc = JSON.parse(Buffer.from(wire.body).toString("utf8")) as Record<string, unknown>;
    expect(doc).toEqual({
      id: env.id, source: env.source, type: env.type, specversion: "1.0", time: env.time, dataschema: env.dataschema,
      key: env.key, correlationid: env.correlationid, causationid: env.causationid, replyto: env.replyto,
      tenant: "acme", region: "eu1", datacontenttype: "application/json", data: env.data,
    });
  });

  it.each(MODES)("codec - %s mode carries extra headers, but never lets them overwrite an attribute", (mode) => {
    const env = fullEnvelope();
    const wire = encodeEnvelope(env, mode, DEFAULT_LIMITS, { "x-extra": "1", "ce-id": "forged", "content-type": "text/plain", traceparent: "forged" });
    expect(wire.headers["x-extra"]).toBe("1");
    expect(wire.headers["traceparent"]).toBe(env.traceparent);
    const out = expectOk(decode(wire));
    expect(out).toEqual(env);
  });

  it("codec - a plain client's structured event with trace context in the document is read", () => {
    const out = expectOk(decode(structured({ ...REQUIRED, traceparent: "00-aa-bb-01", tracestate: "k=v", data: { x: 1 } }, { traceparent: "00-header-01" })));
    expect(out.traceparent).toBe("00-aa-bb-01");
    expect(out.tracestate).toBe("k=v");
    expect(out.datacontenttype).toBe("application/json");
    expect(out.data).toEqual({ x: 1 });
  });

  it("codec - a plain client's binary event without content-type is taken as JSON", () => {
    const out = expectOk(decode(binary({ "content-type": undefined }, bytes("[1,2]"))));
    expect(out.datacontenttype).toBe("application/json");
    expect(out.data).toEqual([1, 2]);
    expect(out.time).toBe("");
    expect(out.dataschema).toBe("");
  });

  it.each(["application/cloudevents+json; charset=utf-8", "Application/CloudEvents+JSON"])("codec - structured content type %j is recognised", (ct) => {
    const wire = { headers: headers({ "content-type": ct }), body: bytes(JSON.stringify({ ...REQUIRED, data: 1 })) };
    expect(expectOk(decode(wire)).data).toBe(1);
  });

  it.each(["application/json", "application/vnd.acme+json", "text/json", "APPLICATION/JSON;charset=utf-8"])("codec - %j is a JSON content type", (ct) => {
    expect(expectOk(decode(binary({ "content-type": ct }))).datacontenttype).toBe(ct);
  });

  it("codec - a UTF-8 byte order mark before the body is tolerated", () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect(expectOk(decode(binary({}, body))).data).toEqual({ a: 1 });
  });

  it("codec - unknown and badly named headers are not extensions", () => {
    const out = expectOk(decode(binary({ "ce-Upper_case": "x", "ce-": "x", "x-other": "y", "ce-waytoolongextensionname1": "z", "ce-ok1": "v" })));
    expect({ ...out.extensions }).toEqual({ ok1: "v" });
  });

  it("codec - extensions come back in a null-prototype record", () => {
    const out = expectOk(decode(encodeEnvelope(fullEnvelope(), "binary", DEFAULT_LIMITS)));
    expect(Object.getPrototypeOf(out.extensions)).toBeNull();
  });
});

describe("codec decode failures", () => {
  it.each(MODES)("codec - %s: bad JSON is a DecodeError that keeps id and type for the dead-letter", (mode) => {
    const wire = mode === "binary" ? binary({}, bytes("{not json")) : { headers: headers({ "content-type": "application/cloudevents+json", "ce-id": "id-9", "ce-type": "t9" }), body: bytes("{not json") };
    const result = decode(wire);
    expectFailure(result, ErrorCodes.DECODE, /not valid JSON/);
    if (mode === "binary") expect(result).toMatchObject({ id: "id-1", type: "t" });
  });

  it.each(MODES)("codec - %s: invalid UTF-8 is a DecodeError", (mode) => {
    const body = Buffer.concat([Buffer.from(mode === "binary" ? '{"a":"' : `{"id":"1","source":"s","type":"t","specversion":"1.0","data":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const wire = mode === "binary" ? binary({}, body) : { headers: headers({ "content-type": "application/cloudevents+json" }), body };
    expectFailure(decode(wire), ErrorCodes.DECODE, /UTF-8/);
  });

  const PROTO_BODIES = [
    '{"__proto__":{"polluted":"yes"}}',
    '{"a":{"b":[{"__proto__":{"polluted":"yes"}}]}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '[{"x":{"constructor":{"prototype":{"polluted":"yes"}}}}]',
  ];

  it.each(PROTO_BODIES)("codec - binary: hostile data %s is a DecodeError and pollutes nothing", (body) => {
    expectFailure(decode(binary({}, bytes(body))), ErrorCodes.DECODE, /__proto__|constructor/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it.each(PROTO_BODIES)("codec - structured: hostile data %s is a DecodeError and pollutes nothing", (body) => {
    const wire = { headers: headers({ "content-type": "application/cloudevents+json" }), body: bytes(`{"id":"1","source":"s","type":"t","specversion":"1.0","data":${body}}`) };
    expectFailure(decode(wire), ErrorCodes.DECODE, /__proto__|constructor/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("codec - structured: a __proto__ attribute in the document itself is a DecodeError", () => {
    const wire = { headers: headers({ "content-type": "application/cloudevents+json" }), body: bytes('{"id":"1","source":"s","type":"t","specversion":"1.0","__proto__":{"polluted":"yes"}}') };
    expectFailure(decode(wire), ErrorCodes.DECODE, /__proto__/);
  });

  it.each(MODES)("codec - %s: nesting deeper than 64 is a DecodeError", (mode) => {
    const deep = "[".repeat(100) + "]".repeat(100);
    const wire = mode === "binary"
      ? binary({}, bytes(deep))
      : { headers: headers({ "content-type": "application/cloudevents+json" }), body: bytes(`{"id":"1","source":"s","type":"t","specversion":"1.0","data":${deep}}`) };
    expectFailure(decode(wire), ErrorCodes.DECODE, /deeper than 64/);
  });

  it.each(["id", "source", "type", "specversion"])("codec - binary: missing %s is a DecodeError naming it", (attr) => {
    expectFailure(decode(binary({ [`ce-${attr}`]: undefined })), ErrorCodes.DECODE, new RegExp(`missing CloudEvents attribute\\(s\\): ${attr}$`));
    expectFailure(decode(binary({ [`ce-${attr}`]: "" })), ErrorCodes.DECODE, new RegExp(`missing.*${attr}`));
  });

  it.each(["id", "source", "type", "specversion"])("codec - structured: missing %s is a DecodeError naming it", (attr) => {
    const doc: Record<string, unknown> = { ...REQUIRED, data: 1 };
    delete doc[attr];
    expectFailure(decode(structured(doc)), ErrorCodes.DECODE, new RegExp(`missing CloudEvents attribute\\(s\\): ${attr}$`));
  });

  it("codec - all missing attributes are named at once", () => {
    expectFailure(decode({ headers: headers({}), body: bytes("1") }), ErrorCodes.DECODE, /id, source, type, specversion/);
  });

  it.each(["0.3", "1", "1.0.0", "2.0", " 1.0"])("codec - specversion %j is a DecodeError", (sv) => {
    expectFailure(decode(binary({ "ce-specversion": sv })), ErrorCodes.DECODE, /specversion/);
    expectFailure(decode(structured({ ...REQUIRED, specversion: sv })), ErrorCodes.DECODE, /specversion/);
  });

  it.each(["text/plain", "application/xml", "application/octet-stream", "application/jsonx"])("codec - binary: content type %j is a DecodeError", (ct) => {
    const result = decode(binary({ "content-type": ct }, bytes("hello")));
    expectFailure(result, ErrorCodes.DECODE, /unsupported datacontenttype/);
    expect(result).toMatchObject({ id: "id-1", type: "t" });
  });

  it("codec - structured: a non-JSON datacontenttype is a DecodeError", () => {
    expectFailure(decode(structured({ ...REQUIRED, datacontenttype: "application/xml", data: "<a/>" })), ErrorCodes.DECODE, /unsupported datacontenttype/);
  });

  it("codec - structured: data_base64 is a DecodeError", () => {
    expectFailure(decode(structured({ ...REQUIRED, data_base64: "AAEC" })), ErrorCodes.DECODE, /data_base64/);
  });

  it.each([
    ["id", 5],
    ["source", null],
    ["type", { x: 1 }],
    ["specversion", 1.0],
    ["time", 1700000000],
    ["dataschema", ["a"]],
    ["key", 4821],
    ["correlationid", true],
    ["traceparent", {}],
    ["datacontenttype", 1],
  ])("codec - structured: attribute %s holding %j is a DecodeError", (attr, value) => {
    expectFailure(decode(structured({ ...REQUIRED, [attr]: value, data: 1 })), ErrorCodes.DECODE, new RegExp(`attribute ${attr} is not a string`));
  });

  it("codec - structured: an extension holding a non-string is left out, not a failure", () => {
    const out = expectOk(decode(structured({ ...REQUIRED, count: 3, flag: true, tenant: "acme", data: 1 })));
    expect({ ...out.extensions }).toEqual({ tenant: "acme" });
  });

  it.each([["an array", "[1]"], ["a string", '"x"'], ["null", "null"], ["a number", "1"]])("codec - structured: a document that is %s is a DecodeError", (_what, body) => {
    expectFailure(decode({ headers: headers({ "content-type": "application/cloudevents+json" }), body: bytes(body) }), ErrorCodes.DECODE, /not a JSON object/);
  });

  it("codec - structured: an empty body is a DecodeError", () => {
    expectFailure(decode({ headers: headers({ "content-type": "application/cloudevents+json" }), body: new Uint8Array() }), ErrorCodes.DECODE, /not valid JSON/);
  });

  it("codec - binary: an empty body is an event without data (null), as CloudEvents allows", () => {
    expect(expectOk(decode(binary({}, new Uint8Array()))).data).toBeNull();
  });

  it("codec - binary: a body of only whitespace is a DecodeError", () => {
    expectFailure(decode(binary({}, bytes("  \n"))), ErrorCodes.DECODE, /not valid JSON/);
  });

  it("codec - an id or type longer than 256 characters is a DecodeError, and not echoed back", () => {
    const long = "x".repeat(257);
    const r1 = decode(binary({ "ce-id": long }));
    expectFailure(r1, ErrorCodes.DECODE, /id is longer/);
    expect(r1).not.toHaveProperty("id");
    const r2 = decode(binary({ "ce-type": long }));
    expectFailure(r2, ErrorCodes.DECODE, /type is longer/);
    expect(r2).not.toHaveProperty("type");
  });

  it("codec - header values that are not strings (a transport's raw values) are a DecodeError, not a throw", () => {
    for (const raw of [42, { x: 1 }, null, ["a"]]) {
      const h = headers({ "ce-id": "id-1", "ce-source": "s", "ce-type": "t", "ce-specversion": "1.0" });
      (h as Record<string, unknown>)["content-type"] = raw;
      const result = decode({ headers: h, body: bytes("1") });
      if (!result.ok) expect(result.error.code).toBe(ErrorCodes.DECODE);
    }
  });

  it("codec - headers named __proto__ and constructor change nothing", () => {
    const wire: WireMessage = {
      headers: toHeaderRecord([
        ["__proto__", '{"polluted":"yes"}'],
        ["constructor", "x"],
        ["ce-__proto__", "x"],
        ["ce-constructor", "y"],
        ["ce-id", "id-1"], ["ce-source", "s"], ["ce-type", "t"], ["ce-specversion", "1.0"],
      ]),
      body: bytes('{"a":1}'),
    };
    const out = expectOk(decode(wire));
    expect(out.id).toBe("id-1");
    expect(out.data).toEqual({ a: 1 });
    expect(Object.getPrototypeOf(out.extensions)).toBeNull();
    expect(Object.keys(out.extensions)).toEqual(["constructor"]);
    expect(out.extensions["constructor"]).toBe("y");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("codec size limits", () => {
  const SMALL: SizeLimits = { maxBodyBytes: 1000, maxHeaderBytes: 200, maxHeadersBytes: 1000, maxHeaderCount: 20 };

  it("codec - decode: an oversized body is MessageTooLargeError, and keeps id and type", () => {
    const result = decode(binary({}, bytes(JSON.stringify("x".repeat(1000)))), SMALL);
    const err = expectFailure(result, ErrorCodes.TOO_LARGE, /body is 1002 bytes/);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect(result).toMatchObject({ id: "id-1", type: "t" });
  });

  it("codec - decode: a huge header is MessageTooLargeError", () => {
    expectFailure(decode(binary({ "x-huge": "x".repeat(1_000_000) })), ErrorCodes.TOO_LARGE, /header "x-huge"/);
  });

  it("codec - decode: too many headers is MessageTooLargeError", () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, "v"]));
    expectFailure(decode(binary(many)), ErrorCodes.TOO_LARGE, /headers, limit is 128/);
  });

  it("codec - decode: headers too large in sum is MessageTooLargeError", () => {
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-h${i}`, "v".repeat(8000)]));
    expectFailure(decode(binary(big)), ErrorCodes.TOO_LARGE, /headers total/);
  });

  it("codec - decode: a 2 MiB body over the default limit is MessageTooLargeError", () => {
    expectFailure(decode(binary({}, new Uint8Array(2 * 1024 * 1024))), ErrorCodes.TOO_LARGE);
  });

  it.each(MODES)("codec - encode (%s): an oversized body throws MessageTooLargeError", (mode) => {
    const env = fullEnvelope("x".repeat(2000));
    expect(() => encodeEnvelope(env, mode, SMALL)).toThrow(MessageTooLargeError);
    expect(() => encodeEnvelope(fullEnvelope("x".repeat(DEFAULT_LIMITS.maxBodyBytes)), mode, DEFAULT_LIMITS)).toThrow(MessageTooLargeError);
  });

  it.each(MODES)("codec - encode (%s): a huge attribute, header or too many headers throw MessageTooLargeError", (mode) => {
    expect(() => encodeEnvelope({ ...fullEnvelope(), traceparent: "x".repeat(300) }, mode, SMALL)).toThrow(MessageTooLargeError);
    expect(() => encodeEnvelope(fullEnvelope(), mode, SMALL, { "x-big": "x".repeat(300) })).toThrow(MessageTooLargeError);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x-h${i}`, "v"]));
    expect(() => encodeEnvelope(fullEnvelope(), mode, SMALL, many)).toThrow(MessageTooLargeError);
  });

  it("codec - encode: a message just within the limits encodes, one byte more does not", () => {
    const limits: SizeLimits = { ...DEFAULT_LIMITS, maxBodyBytes: 12 };
    const env = { ...minimalEnvelope(), data: "x".repeat(10) }; // "\"xxxxxxxxxx\"" = 12 bytes
    expect(encodeEnvelope(env, "binary", limits).body.byteLength).toBe(12);
    expect(() => encodeEnvelope({ ...env, data: "x".repeat(11) }, "binary", limits)).toThrow(MessageTooLargeError);
  });
});

// ---- property tests ----

/** Attribute values: any string, lone surrogates and control characters included. */
const attrString = fc.string({ unit: "binary", maxLength: 40 });
const nonEmpty = fc.string({ unit: "binary", minLength: 1, maxLength: 40 });
const extName = fc.stringMatching(/^[a-z0-9]{1,20}$/).filter((n) => !KNOWN_ATTRIBUTES.has(n));

/** JSON-safe data: what JSON.stringify keeps, without the keys safe-json refuses. */
function isJsonSafe(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== "object") return true;
  if (depth >= 60) return false;
  if (Array.isArray(value)) return value.every((v) => isJsonSafe(v, depth + 1));
  return Object.entries(value).every(([k, v]) => k !== "__proto__" && !(k === "constructor" && v !== null && typeof v === "object") && isJsonSafe(v, depth + 1));
}
const jsonData = fc.jsonValue({ maxDepth: 8 }).filter((v) => isJsonSafe(v));
const jsonDataUnicode = fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }).filter((v) => isJsonSafe(v));

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({
  id: nonEmpty.filter((s) => s.length <= 256),
  source: nonEmpty,
  type: nonEmpty.filter((s) => s.length <= 256),
  time: fc.oneof(fc.constant(""), fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()), attrString),
  datacontenttype: fc.constantFrom("application/json", "application/json; charset=utf-8", "application/vnd.x+json", "text/json"),
  dataschema: attrString,
  key: fc.option(attrString, { nil: undefined }),
  correlationid: fc.option(attrString, { nil: undefined }),
  causationid: fc.option(attrString, { nil: undefined }),
  replyto: fc.option(attrString, { nil: undefined }),
  traceparent: fc.option(attrString, { nil: undefined }),
  tracestate: fc.option(attrString, { nil: undefined }),
  extensions: fc.dictionary(extName, attrString, { maxKeys: 5 }),
  data: fc.oneof(jsonData, jsonDataUnicode),
}).map((r) => {
  const env: Record<string, unknown> = { ...r, specversion: "1.0" };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as unknown as Envelope;
});

const BIG: SizeLimits = { maxBodyBytes: 16 * 1024 * 1024, maxHeaderBytes: 1024 * 1024, maxHeadersBytes: 16 * 1024 * 1024, maxHeaderCount: 1000 };

describe("codec properties", () => {
  it.each(MODES)("codec - %s mode: any JSON-safe data and attributes either round trip or are refused by the encoder, never by the decoder", (mode) => {
    let refused = 0;
    fc.assert(
      fc.property(envelopeArb, (env) => {
        let wire: WireMessage;
        try {
          wire = encodeEnvelope(env, mode, BIG);
        } catch (err) {
          // What the encoder refuses (control characters, a bad time) is what the decoder would refuse.
          expect(err).toBeInstanceOf(EncodeError);
          refused++;
          return;
        }
        const out = decodeEnvelope(wire, BIG);
        if (!out.ok) throw out.error;
        // JSON has no -0: what goes over the wire is what JSON.stringify keeps.
        expect(out.envelope).toEqual({ ...env, extensions: { ...env.extensions }, data: JSON.parse(JSON.stringify(env.data)) });
        expect({ ...out.envelope.extensions }).toEqual(env.extensions);
      }),
      { numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(300);
  });

  it("codec - decoding arbitrary bytes and headers never throws and fails only with DECODE or TOO_LARGE", () => {
    const headerArb = fc.dictionary(
      fc.oneof(fc.constantFrom("ce-id", "ce-source", "ce-type", "ce-specversion", "content-type", "ce-time", "__proto__", "constructor", "ce-__proto__", "ce-constructor", "traceparent"), fc.string({ maxLength: 12 })),
      fc.oneof(fc.constantFrom("1.0", "application/json", "application/cloudevents+json", "text/plain", ""), fc.string({ unit: "binary", maxLength: 30 })),
      { maxKeys: 12 },
    );
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      jsonData.map((v) => bytes(JSON.stringify(v))),
      fc.record({ id: fc.jsonValue(), source: fc.jsonValue(), type: fc.jsonValue(), specversion: fc.constantFrom("1.0", 1, null), data: fc.jsonValue() }, { requiredKeys: [] }).map((v) => bytes(JSON.stringify(v))),
    );
    fc.assert(
      fc.property(headerArb, bodyArb, (h, body) => {
        const wire = { headers: toHeaderRecord(Object.entries(h)), body };
        const result = decodeEnvelope(wire, SMALL_FUZZ);
        if (!result.ok) {
          expect(result.error).toBeInstanceOf(MissiveError);
          expect([ErrorCodes.DECODE, ErrorCodes.TOO_LARGE]).toContain(result.error.code);
          if (result.id !== undefined) expect(typeof result.id).toBe("string");
        } else {
          expect(result.envelope.specversion).toBe("1.0");
          expect(result.envelope.id).not.toBe("");
        }
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});

const SMALL_FUZZ: SizeLimits = { maxBodyBytes: 150, maxHeaderBytes: 40, maxHeadersBytes: 300, maxHeaderCount: 10 };

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, checkLimits } from "../../src/envelope/limits.js";
import { SchemaValidationError, TransientError } from "../../src/errors.js";
import { DIAGNOSTIC_PREFIX, DiagnosticHeaders, deadLetterHeaders, readRetryState, retryHeaders, truncate, withoutDiagnostics, type FailureInfo } from "../../src/runtime/diagnostics.js";
import { MISSIVE_VERSION } from "../../src/version.js";

const SUFFIX = "…[truncated]";
const T0 = Date.parse("2026-11-23T10:00:00.000Z");
const T1 = Date.parse("2026-11-23T10:05:00.000Z");
const ONE_MB = 1024 * 1024;

function info(error: unknown, overrides: Partial<FailureInfo> = {}): FailureInfo {
  return { error, reason: "attempts-exhausted", attempts: 5, firstFailureAt: T0, failedAt: T1, topic: "order.created", group: "billing", ...overrides };
}

function original(): Record<string, string> {
  const h = Object.create(null) as Record<string, string>;
  Object.assign(h, { "ce-id": "id-1", "ce-type": "order.created", "content-type": "application/json", "x-custom": "keep me", traceparent: "00-aa-bb-01" });
  return h;
}

/** The longest prefix of whole code points that fits in `bytes` UTF-8 bytes. */
function longestPrefix(s: string, bytes: number): string {
  let out = "";
  let used = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  return out;
}

function expectHeaderSafe(value: string, budget: number): void {
  expect(Buffer.byteLength(value)).toBeLessThanOrEqual(budget);
  expect(value).not.toMatch(/[\r\n]/);
  // Valid UTF-8: encoding and decoding gives the same string (no split character became U+FFFD).
  expect(Buffer.from(value).toString("utf8")).toBe(value);
}

describe("diagnostics deadLetterHeaders", () => {
  it("diagnostics - every diagnostic header is set, with the right values", () => {
    const err = new TransientError("database is down", { cause: new Error("ECONNREFUSED") });
    const h = deadLetterHeaders(original(), info(err));
    for (const name of Object.values(DiagnosticHeaders)) expect(h[name], name).toBeTypeOf("string");
    expect(h[DiagnosticHeaders.errorClass]).toBe("TransientError");
    expect(h[DiagnosticHeaders.errorCode]).toBe("MISSIVE_TRANSIENT");
    expect(h[DiagnosticHeaders.errorMessage]).toBe("database is down");
    expect(h[DiagnosticHeaders.errorStack]).toMatch(/^TransientError: database is down \| +at /);
    expect(h[DiagnosticHeaders.reason]).toBe("attempts-exhausted");
    expect(h[DiagnosticHeaders.attempts]).toBe("5");
    expect(h[DiagnosticHeaders.firstFailure]).toBe("2026-11-23T10:00:00.000Z");
    expect(h[DiagnosticHeaders.lastFailure]).toBe("2026-11-23T10:05:00.000Z");
    expect(h[DiagnosticHeaders.source]).toBe("order.created");
    expect(h[DiagnosticHeaders.group]).toBe("billing");
    expect(h[DiagnosticHeaders.host]).toBe(hostname().slice(0, 128));
    expect(h[DiagnosticHeaders.version]).toBe(MISSIVE_VERSION);
  });

  it("diagnostics - all diagnostic headers share the one prefix", () => {
    for (const name of Object.values(DiagnosticHeaders)) expect(name.startsWith(DIAGNOSTIC_PREFIX)).toBe(true);
    expect(DIAGNOSTIC_PREFIX).toBe("missive-");
  });

  it("diagnostics - the stamped version is the package's version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(MISSIVE_VERSION).toBe(pkg.version);
  });

  it("diagnostics - the original headers are kept byte for byte, and the input is not modified", () => {
    const before = original();
    const snapshot = { ...before };
    const frozen = Object.freeze(before);
    const h = deadLetterHeaders(frozen, info(new Error("x")));
    expect({ ...frozen }).toEqual(snapshot);
    for (const [name, value] of Object.entries(snapshot)) expect(h[name]).toBe(value);
    expect(h).not.toBe(frozen);
    expect(Object.getPrototypeOf(h)).toBeNull();
  });

  it("diagnostics - dying again replaces earlier diagnostics instead of piling them up", () => {
    const first = deadLetterHeaders(original(), info(new TransientError("first"), { attempts: 3, reason: "attempts-exhausted" }));
    const withStale = { ...first, "missive-obsolete-field": "old" };
    const second = deadLetterHeaders(withStale, info(new SchemaValidationError("second", []), { attempts: 1, reason: "poison" }));
    const diag = Object.keys(second).filter((n) => n.startsWith(DIAGNOSTIC_PREFIX));
    expect(diag.sort()).toEqual(Object.values(DiagnosticHeaders).sort());
    expect(second[DiagnosticHeaders.errorMessage]).toBe("second");
    expect(second[DiagnosticHeaders.errorCode]).toBe("MISSIVE_SCHEMA");
    expect(second[DiagnosticHeaders.reason]).toBe("poison");
    expect(second[DiagnosticHeaders.attempts]).toBe("1");
    for (const [name, value] of Object.entries(original())) expect(second[name]).toBe(value);
    expect(Object.keys(second)).toHaveLength(Object.keys(original()).length + Object.values(DiagnosticHeaders).length);
  });

  it("diagnostics - a 1 MB message and stack are cut to their budgets, header-safe", () => {
    const err = new Error(`line one\r\nline two\n${"m".repeat(ONE_MB)}`);
    err.stack = `Error: boom\n${"    at frame (file.js:1:1)\n".repeat(40_000)}`;
    const h = deadLetterHeaders(original(), info(err));
    const message = h[DiagnosticHeaders.errorMessage]!;
    const stack = h[DiagnosticHeaders.errorStack]!;
    expectHeaderSafe(message, 512);
    expectHeaderSafe(stack, 2048);
    expect(message.startsWith("line one | line two | mmm")).toBe(true);
    expect(message.endsWith(SUFFIX)).toBe(true);
    expect(stack.endsWith(SUFFIX)).toBe(true);
    expect(Buffer.byteLength(message)).toBeGreaterThan(500);
    expect(Buffer.byteLength(stack)).toBeGreaterThan(2030);
  });

  it.each([
    ["2-byte é", "é"],
    ["3-byte €", "€"],
    ["4-byte 😀", "😀"],
    ["mixed", "aé€😀"],
  ])("diagnostics - a 1 MB %s message is cut without splitting a character", (_what, unit) => {
    for (const pad of ["", "x", "xx", "xxx"]) {
      const text = pad + unit.repeat(Math.ceil(ONE_MB / Buffer.byteLength(unit)));
      const err = new Error(text);
      err.stack = text;
      const h = deadLetterHeaders(original(), info(err));
      for (const [name, budget] of [[DiagnosticHeaders.errorMessage, 512], [DiagnosticHeaders.errorStack, 2048]] as const) {
        const value = h[name]!;
        expectHeaderSafe(value, budget);
        expect(value).not.toContain("\uFFFD");
        expect(value).toBe(longestPrefix(text, budget - Buffer.byteLength(SUFFIX)) + SUFFIX);
      }
    }
  });

  it("diagnostics - the whole dead-letter header set fits the default limits even for huge errors", () => {
    const err = new Error("€".repeat(ONE_MB));
    err.name = "N".repeat(10_000);
    err.stack = "😀\n".repeat(ONE_MB);
    const h = deadLetterHeaders(original(), info(err, { topic: "t".repeat(100_000), group: "g".repeat(100_000) }));
    expect(() => checkLimits(h, 0, DEFAULT_LIMITS)).not.toThrow();
    expect(Buffer.byteLength(h[DiagnosticHeaders.source]!)).toBeLessThanOrEqual(256);
    expect(Buffer.byteLength(h[DiagnosticHeaders.group]!)).toBeLessThanOrEqual(256);
    expect(Buffer.byteLength(h[DiagnosticHeaders.errorClass]!)).toBeLessThanOrEqual(128);
    const diagBytes = Object.entries(h).filter(([n]) => n.startsWith(DIAGNOSTIC_PREFIX)).reduce((sum, [n, v]) => sum + Buffer.byteLength(n) + Buffer.byteLength(v), 0);
    expect(diagBytes).toBeLessThan(4096);
  });

  it("diagnostics - no diagnostic value contains CR or LF", () => {
    const err = new Error("a\rb\nc\r\n");
    err.name = "Bad\r\nName";
    const h = deadLetterHeaders(original(), info(err, { topic: "t\r\nx", group: "g\nx" }));
    for (const name of Object.values(DiagnosticHeaders)) expect(h[name], name).not.toMatch(/[\r\n]/);
  });

  it.each([
    ["a string", "plain failure", "string", "MISSIVE_UNKNOWN", "plain failure"],
    ["a number", 42, "number", "MISSIVE_UNKNOWN", "42"],
    ["undefined", undefined, "undefined", "MISSIVE_UNKNOWN", "undefined"],
    ["null", null, "object", "MISSIVE_UNKNOWN", "null"],
    ["an error with a string code", Object.assign(new Error("reset"), { code: "ECONNRESET" }), "Error", "ECONNRESET", "reset"],
    ["an object with a code", { code: "E_X", message: "m" }, "object", "E_X", "[object Object]"],
  ])("diagnostics - a thrown %s is described", (_what, thrown, cls, code, message) => {
    const h = deadLetterHeaders(original(), info(thrown));
    expect(h[DiagnosticHeaders.errorClass]).toBe(cls);
    expect(h[DiagnosticHeaders.errorCode]).toBe(code);
    expect(h[DiagnosticHeaders.errorMessage]).toBe(message);
    expect(h[DiagnosticHeaders.errorStack]).toBe(thrown instanceof Error ? h[DiagnosticHeaders.errorStack] : "");
  });

  it("diagnostics - whatever was thrown, building dead-letter and retry headers never throws", () => {
    // Regression: String(value) throws for these, so dead-lettering failed and the message was redelivered for ever.
    const weird: unknown[] = [
      Object.create(null),
      { toString: () => { throw new Error("no"); } },
      Object.assign(new Error("x"), { message: 42 }),
      Object.assign(new Error("x"), { name: { evil: true } }),
      Object.assign(new Error("x"), { stack: ["not", "a", "string"] }),
      Symbol("sym"),
      10n,
      Object.assign(Object.create(null), { code: "E_NULLPROTO" }),
    ];
    for (const w of weird) {
      const h = deadLetterHeaders(original(), info(w));
      for (const name of Object.values(DiagnosticHeaders)) expect(typeof h[name], name).toBe("string");
      const r = retryHeaders(original(), 2, T0, w);
      expect(typeof r[DiagnosticHeaders.errorMessage]).toBe("string");
    }
    expect(deadLetterHeaders(original(), info(Object.assign(Object.create(null), { code: "E_NULLPROTO" })))[DiagnosticHeaders.errorCode]).toBe("E_NULLPROTO");
  });
});

describe("diagnostics truncate", () => {
  it("diagnostics - short values are kept as they are", () => {
    expect(truncate("hello", 10)).toBe("hello");
    expect(truncate("", 0)).toBe("");
    expect(truncate("€", 3)).toBe("€");
  });

  it("diagnostics - CR/LF runs become a visible separator", () => {
    expect(truncate("a\r\nb\n\nc\rd", 100)).toBe("a | b | c | d");
  });

  it("diagnostics - a cut keeps the longest whole-character prefix that fits, then the marker", () => {
    expect(truncate("é".repeat(100), 20)).toBe("ééé" + SUFFIX);
    expect(truncate("x" + "😀".repeat(100), 23)).toBe("x😀😀" + SUFFIX);
    expect(truncate("a".repeat(100), 20)).toBe("aaaaaa" + SUFFIX);
  });

  it("diagnostics - a budget smaller than the marker still holds", () => {
    // Regression: a negative cut length made subarray count from the end, returning almost the whole value.
    for (const budget of [0, 1, 5, 13, 14, 15]) {
      const out = truncate("x".repeat(1000), budget);
      expect(Buffer.byteLength(out), `budget ${budget}`).toBeLessThanOrEqual(budget);
    }
  });

  it("diagnostics - property: any string, any budget: within budget, no CR/LF, well-formed, a prefix of the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), fc.integer({ min: 0, max: 400 }), (s, budget) => {
        const out = truncate(s, budget);
        expectHeaderSafe(out, budget);
        const clean = s.replace(/[\r\n]+/g, " | ");
        if (Buffer.byteLength(clean) <= budget) {
          expect(out).toBe(clean);
        } else {
          const body = out.endsWith(SUFFIX) ? out.slice(0, -SUFFIX.length) : out;
          expect(clean.startsWith(body)).toBe(true);
          if (budget >= Buffer.byteLength(SUFFIX)) expect(out).toBe(longestPrefix(clean, budget - Buffer.byteLength(SUFFIX)) + SUFFIX);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("diagnostics retry state", () => {
  it("diagnostics - retryHeaders records attempts, first failure and the error, and readRetryState reads them back", () => {
    const h = retryHeaders(original(), 3, T0, new TransientError("flaky"));
    expect(h[DiagnosticHeaders.attempts]).toBe("3");
    expect(h[DiagnosticHeaders.firstFailure]).toBe("2026-11-23T10:00:00.000Z");
    expect(h[DiagnosticHeaders.errorCode]).toBe("MISSIVE_TRANSIENT");
    expect(h[DiagnosticHeaders.errorMessage]).toBe("flaky");
    expect(h[DiagnosticHeaders.errorStack]).toBeUndefined();
    for (const [name, value] of Object.entries(original())) expect(h[name]).toBe(value);
    expect(readRetryState(h)).toEqual({ attempts: 3, firstFailureAt: T0 });
  });

  it("diagnostics - retryHeaders replaces the previous retry's bookkeeping", () => {
    const once = retryHeaders(original(), 1, T0, new Error("a"));
    const twice = retryHeaders(once, 2, T0, new Error("b"));
    expect(twice[DiagnosticHeaders.attempts]).toBe("2");
    expect(twice[DiagnosticHeaders.errorMessage]).toBe("b");
    expect(Object.keys(twice).filter((n) => n.startsWith(DIAGNOSTIC_PREFIX))).toHaveLength(4);
  });

  it("diagnostics - readRetryState of a fresh message is zero attempts, no first failure", () => {
    expect(readRetryState(original())).toEqual({ attempts: 0, firstFailureAt: undefined });
    expect(readRetryState({})).toEqual({ attempts: 0, firstFailureAt: undefined });
  });

  it.each(["", "abc", "-3", "0", "NaN", "Infinity", "99999999999", " ", "\u0000"])("diagnostics - readRetryState treats attempts %j as none", (raw) => {
    expect(readRetryState({ [DiagnosticHeaders.attempts]: raw }).attempts).toBe(0);
  });

  it.each(["", "yesterday", "2026-13-45T99:99:99Z", "NaN", "+999999-01-01T00:00:00Z"])("diagnostics - readRetryState treats first failure %j as unknown", (raw) => {
    expect(readRetryState({ [DiagnosticHeaders.firstFailure]: raw }).firstFailureAt).toBeUndefined();
  });

  it("diagnostics - property: readRetryState of any header values gives a sane attempt count and time, never throws", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: "binary" }), { nil: undefined }), fc.option(fc.string({ unit: "binary" }), { nil: undefined }), (attempts, first) => {
        const h: Record<string, string> = {};
        if (attempts !== undefined) h[DiagnosticHeaders.attempts] = attempts;
        if (first !== undefined) h[DiagnosticHeaders.firstFailure] = first;
        const state = readRetryState(h);
        expect(Number.isInteger(state.attempts)).toBe(true);
        expect(state.attempts).toBeGreaterThanOrEqual(0);
        expect(state.attempts).toBeLessThan(1e9);
        if (state.firstFailureAt !== undefined) expect(() => new Date(state.firstFailureAt!).toISOString()).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it("diagnostics - readRetryState ignores inherited properties and survives a null-prototype record", () => {
    const h = Object.create(null) as Record<string, string>;
    h[DiagnosticHeaders.attempts] = "4";
    expect(readRetryState(h).attempts).toBe(4);
    const inherited = Object.create({ [DiagnosticHeaders.attempts]: "7" }) as Record<string, string>;
    expect(() => readRetryState(inherited)).not.toThrow();
  });

  it("diagnostics - withoutDiagnostics drops every missive- header and only those", () => {
    const h = { ...original(), "missive-attempts": "2", "missive-anything": "x", "x-missive-not-ours": "y" };
    expect({ ...withoutDiagnostics(h) }).toEqual({ ...original(), "x-missive-not-ours": "y" });
  });
});

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { decodeEnvelope, encodeEnvelope } from "../../src/envelope/codec.js";
import type { Envelope } from "../../src/envelope/envelope.js";
import { isExpired, parseExpiresAt, parsePriority, priorityOf, wirePriority } from "../../src/envelope/expiry-priority.js";
import { DEFAULT_LIMITS } from "../../src/envelope/limits.js";
import { ConfigurationError, ErrorCodes } from "../../src/errors.js";
import { defineMessage } from "../../src/contract/define-message.js";
import { buildEnvelope } from "../../src/runtime/build-envelope.js";

const base: Envelope = {
  id: "e-1", source: "s", type: "t", specversion: "1.0", time: "2026-01-01T00:00:00.000Z",
  datacontenttype: "application/json", dataschema: "t/v1", extensions: {}, data: { n: 1 },
};

function headers(extra: Record<string, string>): Record<string, string> {
  return { "ce-id": "p-1", "ce-source": "plain", "ce-type": "t", "ce-specversion": "1.0", "content-type": "application/json", ...extra };
}

const Ping = defineMessage({ type: "t", schema: z.object({ n: z.number() }) });

describe("expiry and priority attributes", () => {
  it("expiresat - RFC 3339 with an offset or Z parses; anything else does not", () => {
    expect(parseExpiresAt("2026-01-01T00:00:00Z")).toBe(Date.UTC(2026, 0, 1));
    expect(parseExpiresAt("2026-01-01T01:00:00.5+01:00")).toBe(Date.UTC(2026, 0, 1) + 500);
    for (const bad of ["", "1767225600000", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "tomorrow", "2026-01-01T00:00:00Z "]) {
      expect(parseExpiresAt(bad), bad).toBeUndefined();
    }
  });

  it("priority - one digit 0 to 9", () => {
    expect(parsePriority("0")).toBe(0);
    expect(parsePriority("9")).toBe(9);
    for (const bad of ["", "10", "-1", "a", "1.5", " 1"]) expect(parsePriority(bad), bad).toBeUndefined();
    expect(priorityOf({})).toBe(0);
    expect(priorityOf({ priority: "7" })).toBe(7);
    expect(wirePriority({ "ce-priority": "3" })).toBe(3);
    expect(wirePriority({})).toBeUndefined();
  });

  it("codec - both attributes round trip in both content modes", () => {
    const env: Envelope = { ...base, expiresat: "2030-01-01T00:00:00.000Z", priority: "7" };
    for (const mode of ["binary", "structured"] as const) {
      const wire = encodeEnvelope(env, mode, DEFAULT_LIMITS);
      if (mode === "binary") expect(wire.headers).toMatchObject({ "ce-expiresat": env.expiresat, "ce-priority": "7" });
      const decoded = decodeEnvelope(wire, DEFAULT_LIMITS);
      expect(decoded.ok && decoded.envelope).toMatchObject({ expiresat: env.expiresat, priority: "7" });
      expect(decoded.ok && decoded.envelope.extensions).toEqual({});
    }
  });

  it("codec - an invalid expiresat or priority is a decode error naming it", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ "ce-expiresat": "1767225600000" }, /expiresat/],
      [{ "ce-expiresat": "soon" }, /expiresat/],
      [{ "ce-priority": "10" }, /priority/],
      [{ "ce-priority": "high" }, /priority/],
    ];
    for (const [extra, message] of cases) {
      const decoded = decodeEnvelope({ headers: headers(extra), body: Buffer.from('{"n":1}') }, DEFAULT_LIMITS);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) {
        expect(decoded.error.code).toBe(ErrorCodes.DECODE);
        expect(decoded.error.message).toMatch(message);
        expect(decoded.id).toBe("p-1");
      }
    }
  });

  it("codec - structured mode accepts priority as a JSON integer (CloudEvents Integer)", () => {
    const body = Buffer.from(JSON.stringify({ specversion: "1.0", id: "s-1", source: "x", type: "t", priority: 4, data: {} }));
    const decoded = decodeEnvelope({ headers: { "content-type": "application/cloudevents+json" }, body }, DEFAULT_LIMITS);
    expect(decoded.ok && decoded.envelope.priority).toBe("4");
  });

  it("isExpired - at or after the time, never without one", () => {
    const at = "2026-01-01T00:00:00.000Z";
    expect(isExpired({}, Date.now())).toBe(false);
    expect(isExpired({ expiresat: at }, Date.UTC(2026, 0, 1) - 1)).toBe(false);
    expect(isExpired({ expiresat: at }, Date.UTC(2026, 0, 1))).toBe(true);
  });

  it("build - expiresIn and priority from the publish, else the contract, else none", () => {
    const plain = buildEnvelope("s", Ping, { n: 1 }, {}, "id-1");
    expect(plain.expiresat).toBeUndefined();
    expect(plain.priority).toBeUndefined();
    const Urgent = defineMessage({ type: "t", schema: z.object({ n: z.number() }), expiresIn: "1m", priority: 8 });
    expect(Urgent).toMatchObject({ expiresInMs: 60_000, priority: 8 });
    const before = Date.now();
    const byContract = buildEnvelope("s", Urgent, { n: 1 }, {}, "id-2");
    expect(byContract.priority).toBe("8");
    expect(Date.parse(byContract.expiresat!) - before).toBeGreaterThanOrEqual(59_000);
    const byPublish = buildEnvelope("s", Urgent, { n: 1 }, { expiresIn: "2s", priority: 0 }, "id-3");
    expect(byPublish.priority).toBe("0");
    expect(Date.parse(byPublish.expiresat!) - before).toBeLessThan(10_000);
  });

  it("build - a bad expiresIn or priority is a ConfigurationError; so is a user extension of either name", () => {
    expect(() => buildEnvelope("s", Ping, { n: 1 }, { priority: 10 }, "x")).toThrow(ConfigurationError);
    expect(() => buildEnvelope("s", Ping, { n: 1 }, { priority: 1.5 }, "x")).toThrow(ConfigurationError);
    expect(() => buildEnvelope("s", Ping, { n: 1 }, { expiresIn: 0 }, "x")).toThrow(ConfigurationError);
    expect(() => buildEnvelope("s", Ping, { n: 1 }, { expiresIn: "soon" as never }, "x")).toThrow(ConfigurationError);
    expect(() => buildEnvelope("s", Ping, { n: 1 }, { extensions: { expiresat: "2030-01-01T00:00:00Z" } }, "x")).toThrow(ConfigurationError);
    expect(() => buildEnvelope("s", Ping, { n: 1 }, { extensions: { priority: "9" } }, "x")).toThrow(ConfigurationError);
    expect(() => defineMessage({ type: "t", schema: z.object({}), priority: -1 })).toThrow(ConfigurationError);
    expect(() => defineMessage({ type: "t", schema: z.object({}), expiresIn: 0 })).toThrow(ConfigurationError);
  });
});

describe("expiry middleware and failure policy", () => {
  it("expiry - an expired message never reaches the handler; the policy dead-letters it as expired, unretried", async () => {
    const { expiryMiddleware } = await import("../../src/middleware/expiry.js");
    const { classifyFailure } = await import("../../src/runtime/failure-policy.js");
    const { MessageExpiredError, isRetryable } = await import("../../src/errors.js");
    let calls = 0;
    const handler = expiryMiddleware(() => Date.UTC(2026, 0, 1))(() => {
      calls++;
    });
    const ctx = (expiresat?: string) => ({ message: { ...base, ...(expiresat === undefined ? {} : { expiresat }) }, attempt: 2 }) as never;
    await handler({}, ctx());
    await handler({}, ctx("2026-01-01T00:00:01.000Z"));
    expect(calls).toBe(2);
    const err = await Promise.resolve(handler({}, ctx("2025-12-31T23:59:59.000Z"))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageExpiredError);
    expect(calls).toBe(2);
    expect(isRetryable(err)).toBe(false);
    const retry = { maxAttempts: 5, delaysMs: undefined, baseMs: 1, maxMs: 1 };
    expect(classifyFailure(err, 1, retry, () => 0.5)).toEqual({ action: "dead-letter", reason: "expired" });
  });
});

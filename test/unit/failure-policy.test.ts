import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  ClosedError,
  ConfigurationError,
  ConnectionError,
  DecodeError,
  ErrorCodes,
  HandlerTimeoutError,
  LeaseLostError,
  MessageTooLargeError,
  MissiveError,
  PermanentError,
  PublishTimeoutError,
  SchemaValidationError,
  TransientError,
  UnknownTypeError,
  UnknownVersionError,
} from "../../src/errors.js";
import { classifyFailure, retryDelay, type RetrySettings } from "../../src/runtime/failure-policy.js";

const ALMOST_ONE = 1 - Number.EPSILON;
const zero = (): number => 0;
const top = (): number => ALMOST_ONE;
const half = (): number => 0.5;

const BACKOFF: RetrySettings = { maxAttempts: 5, delaysMs: undefined, baseMs: 100, maxMs: 1000 };
const LADDER: RetrySettings = { maxAttempts: 10, delaysMs: [5000, 30_000, 300_000], baseMs: 100, maxMs: 1000 };

const POISON: ReadonlyArray<{ name: string; err: MissiveError }> = [
  { name: "DecodeError", err: new DecodeError("x") },
  { name: "SchemaValidationError", err: new SchemaValidationError("x", [{ message: "m" }]) },
  { name: "UnknownTypeError", err: new UnknownTypeError("x") },
  { name: "UnknownVersionError", err: new UnknownVersionError("x") },
  { name: "MessageTooLargeError", err: new MessageTooLargeError("x") },
];

describe("failure-policy", () => {
  it.each(POISON)("failure-policy - $name dead-letters at once as poison, whatever the budget", ({ err }) => {
    for (const attempt of [1, 2, 5, 100]) {
      expect(classifyFailure(err, attempt, { ...BACKOFF, maxAttempts: 1000 }, half)).toEqual({ action: "dead-letter", reason: "poison" });
    }
  });

  it("failure-policy - PermanentError dead-letters at once as permanent", () => {
    for (const attempt of [1, 3, 99]) {
      expect(classifyFailure(new PermanentError("no"), attempt, { ...BACKOFF, maxAttempts: 1000 }, half)).toEqual({ action: "dead-letter", reason: "permanent" });
    }
  });

  it.each([new AuthenticationError("x"), new ConfigurationError("x")])("failure-policy - %s stops the consumer, even when the budget is spent", (err) => {
    for (const attempt of [1, 5, 6]) expect(classifyFailure(err, attempt, BACKOFF, half)).toEqual({ action: "stop", reason: "fatal" });
  });

  it.each([
    { name: "TransientError", err: new TransientError("x"), reason: "transient" },
    { name: "ConnectionError", err: new ConnectionError("x"), reason: "transient" },
    { name: "HandlerTimeoutError", err: new HandlerTimeoutError("x"), reason: "transient" },
    { name: "PublishTimeoutError", err: new PublishTimeoutError("x"), reason: "transient" },
    { name: "ClosedError", err: new ClosedError("x"), reason: "transient" },
    { name: "MissiveError(UNKNOWN)", err: new MissiveError(ErrorCodes.UNKNOWN, "x"), reason: "unknown" },
    { name: "plain Error", err: new Error("x"), reason: "unknown" },
    { name: "TypeError", err: new TypeError("x"), reason: "unknown" },
    { name: "a thrown string", err: "boom", reason: "unknown" },
    { name: "undefined", err: undefined, reason: "unknown" },
    { name: "null", err: null, reason: "unknown" },
    { name: "a look-alike object", err: { code: ErrorCodes.PERMANENT }, reason: "unknown" },
  ])("failure-policy - $name is retried (reason $reason) until maxAttempts, then dead-lettered attempts-exhausted", ({ err, reason }) => {
    for (let attempt = 1; attempt < BACKOFF.maxAttempts; attempt++) {
      const d = classifyFailure(err, attempt, BACKOFF, zero);
      expect(d).toEqual({ action: "retry", delayMs: 0, reason });
    }
    expect(classifyFailure(err, 5, BACKOFF, zero)).toEqual({ action: "dead-letter", reason: "attempts-exhausted" });
    expect(classifyFailure(err, 6, BACKOFF, zero)).toEqual({ action: "dead-letter", reason: "attempts-exhausted" });
  });

  it("failure-policy - LeaseLostError abandons the delivery at any attempt: no retry, no dead letter", () => {
    for (const attempt of [1, 5, 6]) expect(classifyFailure(new LeaseLostError("x"), attempt, BACKOFF, half)).toEqual({ action: "abandon", reason: "lease-lost" });
  });

  it("failure-policy - maxAttempts 1 means no retry at all", () => {
    expect(classifyFailure(new TransientError("x"), 1, { ...BACKOFF, maxAttempts: 1 }, half)).toEqual({ action: "dead-letter", reason: "attempts-exhausted" });
  });

  it("failure-policy - backoff doubles per retry with full jitter: random 0 waits 0, random ~1 waits just under the cap", () => {
    const caps = [100, 200, 400, 800, 1000, 1000, 1000];
    caps.forEach((cap, i) => {
      const attempt = i + 1;
      const s = { ...BACKOFF, maxAttempts: 100 };
      expect(classifyFailure(new TransientError("x"), attempt, s, zero)).toMatchObject({ action: "retry", delayMs: 0 });
      expect(classifyFailure(new TransientError("x"), attempt, s, top)).toMatchObject({ action: "retry", delayMs: cap - 1 });
      expect(classifyFailure(new TransientError("x"), attempt, s, half)).toMatchObject({ action: "retry", delayMs: cap / 2 });
    });
  });

  it("failure-policy - the backoff delay never exceeds maxMs, however many attempts", () => {
    for (const attempt of [10, 31, 32, 64, 1000, 1e6]) {
      const d = retryDelay(attempt, BACKOFF, top);
      expect(d).toBe(BACKOFF.maxMs - 1);
      expect(Number.isFinite(d)).toBe(true);
    }
  });

  it("failure-policy - property: a backoff delay is an integer in [0, min(maxMs, base·2^(n-1)))", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
        (attempt, baseMs, maxMs, r) => {
          const d = retryDelay(attempt, { maxAttempts: 1000, delaysMs: undefined, baseMs, maxMs }, () => r);
          const cap = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(cap);
        },
      ),
    );
  });

  it("failure-policy - an explicit ladder gives retry n delays[n-1], and its last step repeats", () => {
    const expected = [5000, 30_000, 300_000, 300_000, 300_000, 300_000, 300_000, 300_000, 300_000];
    expected.forEach((delayMs, i) => {
      expect(classifyFailure(new TransientError("x"), i + 1, LADDER, top)).toEqual({ action: "retry", delayMs, reason: "transient" });
    });
    expect(classifyFailure(new TransientError("x"), 10, LADDER, top)).toEqual({ action: "dead-letter", reason: "attempts-exhausted" });
  });

  it("failure-policy - a ladder is not jittered", () => {
    for (const random of [zero, half, top]) expect(retryDelay(2, LADDER, random)).toBe(30_000);
  });

  it("failure-policy - a ladder of one step repeats that step", () => {
    const s = { ...LADDER, delaysMs: [250] };
    for (const attempt of [1, 2, 7]) expect(retryDelay(attempt, s, top)).toBe(250);
  });

  it("failure-policy - an empty ladder falls back to exponential backoff", () => {
    expect(retryDelay(3, { ...LADDER, delaysMs: [] }, top)).toBe(399);
  });

  it("failure-policy - the random source is called only for jittered backoff", () => {
    let calls = 0;
    const counting = (): number => (calls++, 0.5);
    classifyFailure(new DecodeError("x"), 1, BACKOFF, counting);
    classifyFailure(new PermanentError("x"), 1, BACKOFF, counting);
    classifyFailure(new TransientError("x"), 5, BACKOFF, counting);
    classifyFailure(new TransientError("x"), 1, LADDER, counting);
    expect(calls).toBe(0);
    classifyFailure(new TransientError("x"), 1, BACKOFF, counting);
    expect(calls).toBe(1);
  });
});

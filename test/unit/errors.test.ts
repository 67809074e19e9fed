import { describe, expect, expectTypeOf, it } from "vitest";
import {
  AuthenticationError,
  ClosedError,
  ConfigurationError,
  ConnectionError,
  DecodeError,
  DuplicateMessageError,
  ErrorCodes,
  HandlerTimeoutError,
  LeaseLostError,
  SpoolFullError,
  MessageExpiredError,
  EncodeError,
  MessageTooLargeError,
  MissiveError,
  PermanentError,
  PublishTimeoutError,
  RequestTimeoutError,
  SchemaValidationError,
  TransientError,
  UnknownTypeError,
  UnknownVersionError,
  UnroutableError,
  isFatal,
  isMissiveError,
  isPoison,
  isRetryable,
  type ErrorCode,
} from "../../src/errors.js";

type Ctor = new (message: string, options?: { cause?: unknown }) => MissiveError;

/** Every error class built by `defineError`, with the code and name it must carry. */
const CLASSES: ReadonlyArray<readonly [Ctor, ErrorCode, string]> = [
  [PermanentError, "MISSIVE_PERMANENT", "PermanentError"],
  [TransientError, "MISSIVE_TRANSIENT", "TransientError"],
  [DecodeError, "MISSIVE_DECODE", "DecodeError"],
  [UnknownTypeError, "MISSIVE_UNKNOWN_TYPE", "UnknownTypeError"],
  [UnknownVersionError, "MISSIVE_UNKNOWN_VERSION", "UnknownVersionError"],
  [MessageTooLargeError, "MISSIVE_TOO_LARGE", "MessageTooLargeError"],
  [UnroutableError, "MISSIVE_UNROUTABLE", "UnroutableError"],
  [PublishTimeoutError, "MISSIVE_PUBLISH_TIMEOUT", "PublishTimeoutError"],
  [ConnectionError, "MISSIVE_CONNECTION", "ConnectionError"],
  [AuthenticationError, "MISSIVE_AUTH", "AuthenticationError"],
  [ConfigurationError, "MISSIVE_CONFIG", "ConfigurationError"],
  [RequestTimeoutError, "MISSIVE_REQUEST_TIMEOUT", "RequestTimeoutError"],
  [HandlerTimeoutError, "MISSIVE_HANDLER_TIMEOUT", "HandlerTimeoutError"],
  [ClosedError, "MISSIVE_CLOSED", "ClosedError"],
  [DuplicateMessageError, "MISSIVE_DUPLICATE", "DuplicateMessageError"],
  [LeaseLostError, "MISSIVE_LEASE_LOST", "LeaseLostError"],
  [SpoolFullError, "MISSIVE_SPOOL_FULL", "SpoolFullError"],
  [MessageExpiredError, "MISSIVE_EXPIRED", "MessageExpiredError"],
  [EncodeError, "MISSIVE_ENCODE", "EncodeError"],
];

/** One instance per code (SchemaValidationError has its own constructor). */
function instances(): MissiveError[] {
  return [...CLASSES.map(([C]) => new C("x")), new SchemaValidationError("x", [])];
}

describe("errors", () => {
  const ROWS = CLASSES.map(([C, code, name]) => ({ C, code, name }));

  it.each(ROWS)("errors - $name has its literal code, name and message", ({ C, code, name }) => {
    const err = new C("it broke");
    expect(err.code).toBe(code);
    expect(err.name).toBe(name);
    expect(C.name).toBe(name);
    expect(err.message).toBe("it broke");
    expect(err).toBeInstanceOf(C);
    expect(err).toBeInstanceOf(MissiveError);
    expect(err).toBeInstanceOf(Error);
    expect(isMissiveError(err)).toBe(true);
    expect(String(err)).toBe(`${name}: it broke`);
    expect(err.stack?.split("\n")[0]).toBe(`${name}: it broke`);
  });

  it.each(ROWS)("errors - $name keeps its cause, and has none when not given one", ({ C }) => {
    const cause = new Error("root");
    expect(new C("x", { cause }).cause).toBe(cause);
    // Falsy causes are causes too.
    expect(new C("x", { cause: 0 }).cause).toBe(0);
    expect(new C("x", { cause: null }).cause).toBeNull();
    expect("cause" in new C("x")).toBe(false);
    expect("cause" in new C("x", {})).toBe(false);
  });

  it("errors - classes are distinct: an error is an instance of its own class only", () => {
    for (const [C] of CLASSES) {
      const err = new C("x");
      for (const [Other] of CLASSES) expect(err instanceof Other).toBe(Other === C);
      expect(err instanceof SchemaValidationError).toBe(false);
    }
  });

  it("errors - SchemaValidationError carries its issues, code, name and cause", () => {
    const issues = [{ message: "expected string", path: ["a", 0] }, { message: "required" }];
    const cause = new Error("root");
    const err = new SchemaValidationError("bad data", issues, { cause });
    expect(err.code).toBe(ErrorCodes.SCHEMA);
    expect(err.name).toBe("SchemaValidationError");
    expect(err.issues).toEqual(issues);
    expect(err.cause).toBe(cause);
    expect(err).toBeInstanceOf(MissiveError);
  });

  it("errors - MissiveError itself takes any code", () => {
    const err = new MissiveError(ErrorCodes.UNKNOWN, "?", { cause: "c" });
    expect(err.name).toBe("MissiveError");
    expect(err.code).toBe("MISSIVE_UNKNOWN");
    expect(err.cause).toBe("c");
  });

  it("errors - codes are unique, MISSIVE_-prefixed, and each has exactly one class (UNKNOWN excepted)", () => {
    const codes = Object.values(ErrorCodes);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^MISSIVE_[A-Z_]+$/);
    const byClass = instances().map((e) => e.code);
    expect(new Set(byClass).size).toBe(byClass.length);
    expect(new Set(byClass)).toEqual(new Set(codes.filter((c) => c !== ErrorCodes.UNKNOWN)));
  });

  it("errors - isMissiveError is false for look-alikes", () => {
    expect(isMissiveError(new Error("x"))).toBe(false);
    expect(isMissiveError({ code: "MISSIVE_PERMANENT", name: "PermanentError", message: "x" })).toBe(false);
    expect(isMissiveError(undefined)).toBe(false);
    expect(isMissiveError("MISSIVE_PERMANENT")).toBe(false);
  });

  it("errors - code types are literals", () => {
    expectTypeOf(new PermanentError("x").code).toEqualTypeOf<"MISSIVE_PERMANENT">();
    expectTypeOf(new ConfigurationError("x").code).toEqualTypeOf<"MISSIVE_CONFIG">();
    expectTypeOf(new SchemaValidationError("x", []).code).toEqualTypeOf<"MISSIVE_SCHEMA">();
    expectTypeOf(new MissiveError("MISSIVE_AUTH", "x").code).toEqualTypeOf<ErrorCode>();
  });
});

describe("errors predicates", () => {
  const NOT_RETRYABLE = new Set<ErrorCode>([
    "MISSIVE_PERMANENT", "MISSIVE_DECODE", "MISSIVE_SCHEMA", "MISSIVE_UNKNOWN_TYPE", "MISSIVE_UNKNOWN_VERSION",
    "MISSIVE_TOO_LARGE", "MISSIVE_UNROUTABLE", "MISSIVE_AUTH", "MISSIVE_CONFIG", "MISSIVE_CLOSED", "MISSIVE_EXPIRED", "MISSIVE_ENCODE",
  ]);
  const POISON = new Set<ErrorCode>(["MISSIVE_DECODE", "MISSIVE_SCHEMA", "MISSIVE_UNKNOWN_TYPE", "MISSIVE_UNKNOWN_VERSION", "MISSIVE_TOO_LARGE"]);
  const FATAL = new Set<ErrorCode>(["MISSIVE_AUTH", "MISSIVE_CONFIG"]);

  it("errors predicates - isRetryable follows the table for every class", () => {
    for (const err of instances()) expect(isRetryable(err), err.name).toBe(!NOT_RETRYABLE.has(err.code));
    expect(isRetryable(new MissiveError(ErrorCodes.UNKNOWN, "x"))).toBe(true);
  });

  it("errors predicates - isPoison is true exactly for bad messages", () => {
    for (const err of instances()) expect(isPoison(err), err.name).toBe(POISON.has(err.code));
  });

  it("errors predicates - isFatal is true exactly for authentication and configuration", () => {
    for (const err of instances()) expect(isFatal(err), err.name).toBe(FATAL.has(err.code));
  });

  it("errors predicates - poison and fatal errors are never retryable", () => {
    for (const err of instances()) {
      if (isPoison(err) || isFatal(err)) expect(isRetryable(err), err.name).toBe(false);
      expect(isPoison(err) && isFatal(err)).toBe(false);
    }
  });

  it("errors predicates - foreign errors and thrown values are retryable, never poison or fatal", () => {
    const foreign: unknown[] = [new Error("x"), new TypeError("x"), Object.assign(new Error("x"), { code: "MISSIVE_PERMANENT" }), "boom", 42, null, undefined, { code: "MISSIVE_AUTH" }];
    for (const v of foreign) {
      expect(isRetryable(v)).toBe(true);
      expect(isPoison(v)).toBe(false);
      expect(isFatal(v)).toBe(false);
    }
  });
});

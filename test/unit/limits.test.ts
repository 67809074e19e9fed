import { describe, expect, it } from "vitest";
import { MessageTooLargeError } from "../../src/errors.js";
import { DEFAULT_LIMITS, checkLimits, type SizeLimits } from "../../src/envelope/limits.js";

const LIMITS: SizeLimits = { maxBodyBytes: 100, maxHeaderBytes: 20, maxHeadersBytes: 50, maxHeaderCount: 4 };

function headers(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

function expectTooLarge(fn: () => void, message: RegExp): void {
  expect(fn).toThrow(MessageTooLargeError);
  expect(fn).toThrow(message);
}

describe("limits", () => {
  it("limits - the defaults are 1 MiB body, 8 KiB header, 64 KiB headers, 128 headers, and frozen", () => {
    expect(DEFAULT_LIMITS).toEqual({ maxBodyBytes: 1_048_576, maxHeaderBytes: 8192, maxHeadersBytes: 65_536, maxHeaderCount: 128 });
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it("limits - everything exactly at its limit passes", () => {
    // 4 headers, each name + value = 12 bytes (48 in all), body 100 bytes.
    expect(() => checkLimits(headers({ aa: "x".repeat(10), bb: "x".repeat(10), cc: "x".repeat(10), dd: "x".repeat(10) }), 100, LIMITS)).not.toThrow();
    expect(() => checkLimits(headers({ a: "x".repeat(19) }), 0, LIMITS)).not.toThrow();
    expect(() => checkLimits(headers({}), 0, LIMITS)).not.toThrow();
  });

  it("limits - a body one byte over is too large", () => {
    expectTooLarge(() => checkLimits(headers({}), 101, LIMITS), /body is 101 bytes, limit is 100/);
  });

  it("limits - one header one byte over is too large, name included", () => {
    expectTooLarge(() => checkLimits(headers({ ab: "x".repeat(19) }), 0, LIMITS), /header "ab" is 21 bytes, limit is 20/);
  });

  it("limits - header size is counted in UTF-8 bytes, not characters", () => {
    // Name 1 byte + 6 × 3 bytes = 19: fits. One more "€" is 22 bytes in 8 characters.
    expect(() => checkLimits(headers({ a: "€".repeat(6) }), 0, LIMITS)).not.toThrow();
    expectTooLarge(() => checkLimits(headers({ a: "€".repeat(7) }), 0, LIMITS), /is 22 bytes, limit is 20/);
  });

  it("limits - one header too many is too large", () => {
    expectTooLarge(() => checkLimits(headers({ a: "", b: "", c: "", d: "", e: "" }), 0, LIMITS), /5 headers, limit is 4/);
  });

  it("limits - the sum of headers over its limit is too large even when each is small", () => {
    // 3 headers of 18 bytes = 54 > 50.
    expectTooLarge(() => checkLimits(headers({ a: "x".repeat(17), b: "x".repeat(17), c: "x".repeat(17) }), 0, LIMITS), /headers total 54 bytes, limit is 50/);
  });

  it("limits - the huge header's name in the message is cut short", () => {
    const name = "n".repeat(10_000);
    try {
      checkLimits(headers({ [name]: "" }), 0, LIMITS);
      expect.fail("expected a throw");
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(200);
    }
  });
});

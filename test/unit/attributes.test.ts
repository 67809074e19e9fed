import { describe, expect, it } from "vitest";
import { attributeProblem } from "../../src/envelope/attributes.js";
import { isRfc3339 } from "../../src/envelope/rfc3339.js";

describe("attributes", () => {
  it("attributes - RFC 3339 times are checked field by field, not by Date.parse alone", () => {
    for (const good of ["2026-12-06T19:00:00Z", "2024-02-29T00:00:00.123456789+14:00", "2016-12-31T23:59:60Z", "2026-01-01t00:00:00z"]) expect(isRfc3339(good), good).toBe(true);
    for (const bad of ["", "not-a-date", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+24:00", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00Z\n"]) {
      expect(isRfc3339(bad), bad).toBe(false);
    }
  });

  it("attributes - an empty time is refused even before any good time was seen (the remembered last good time starts unset)", () => {
    expect(attributeProblem("time", "")).toContain("time");
    expect(attributeProblem("time", "2026-12-06T19:00:00Z")).toBeUndefined();
    expect(attributeProblem("time", "")).toContain("time");
  });

  it("attributes - control characters are refused in every string attribute and extension, W3C trace headers excepted", () => {
    for (const name of ["id", "source", "type", "subject", "dataschema", "datacontenttype", "key", "correlationid", "causationid", "replyto", "tenant"]) {
      expect(attributeProblem(name, "a\u0000b"), name).toContain(name);
      expect(attributeProblem(name, "a\u009bb"), name).toContain(name);
      expect(attributeProblem(name, "ok é 😀"), name).toBeUndefined();
    }
    expect(attributeProblem("traceparent", "junk\n")).toBeUndefined();
  });
});

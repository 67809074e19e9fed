import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { checkQuery, limitOf, matchesQuery, summarise } from "../../src/transport/dead-letter-query.js";
import type { DeadLetter } from "../../src/transport/transport.js";

const entry = (entryId: string, at: number, headers: Record<string, string> = {}, extra: Partial<DeadLetter> = {}): DeadLetter => ({
  entryId, messageId: `m${entryId}`, group: "g", topic: "t", key: undefined, deadLetteredAt: at, wire: { headers, body: Buffer.alloc(0) }, ...extra,
});

describe("dead-letter query", () => {
  it("dead-letter query - every field narrows; none matches all", () => {
    const e = entry("1", 100, { "missive-error-code": "MISSIVE_SCHEMA", "missive-error-class": "SchemaValidationError" });
    expect(matchesQuery(e, undefined)).toBe(true);
    expect(matchesQuery(e, {})).toBe(true);
    expect(matchesQuery(e, { group: "g", topic: "t", messageId: "m1", since: 100, until: 100, errorCode: "MISSIVE_SCHEMA", errorClass: "SchemaValidationError" })).toBe(true);
    for (const miss of [{ group: "x" }, { topic: "x" }, { messageId: "x" }, { since: 101 }, { until: 99 }, { errorCode: "X" }, { errorClass: "X" }]) {
      expect(matchesQuery(e, miss), JSON.stringify(miss)).toBe(false);
    }
    expect(matchesQuery(entry("2", 1), { errorCode: "MISSIVE_SCHEMA" })).toBe(false);
  });

  it("dead-letter query - summary groups type × error, most frequent first, first and last seen", () => {
    const rows = summarise([
      entry("1", 50, { "missive-error-code": "A" }),
      entry("2", 10, { "missive-error-code": "B" }),
      entry("3", 30, { "missive-error-code": "B" }),
      entry("4", 20, {}, { topic: "u" }),
    ]);
    expect(rows).toEqual([
      { topic: "t", errorCode: "B", errorClass: undefined, count: 2, firstDeadLetteredAt: 10, lastDeadLetteredAt: 30 },
      { topic: "t", errorCode: "A", errorClass: undefined, count: 1, firstDeadLetteredAt: 50, lastDeadLetteredAt: 50 },
      { topic: "u", errorCode: undefined, errorClass: undefined, count: 1, firstDeadLetteredAt: 20, lastDeadLetteredAt: 20 },
    ]);
  });

  it("dead-letter query - hostile values are ConfigurationErrors; the limit is bounded", () => {
    expect(limitOf(undefined)).toBe(1000);
    expect(limitOf({ limit: 0 })).toBe(0);
    for (const limit of [-1, 1.5, Number.NaN, 10_001, Infinity]) expect(() => limitOf({ limit })).toThrow(ConfigurationError);
    expect(() => checkQuery(null as never)).toThrow(ConfigurationError);
    expect(() => checkQuery({ topic: {} as never })).toThrow(/topic must be a string/);
    expect(() => checkQuery({ since: "yesterday" as never })).toThrow(/since must be a unix time/);
    expect(() => checkQuery({ until: Infinity })).toThrow(ConfigurationError);
    expect(() => checkQuery(JSON.parse('{"__proto__": {"group": 1}}') as never)).not.toThrow();
  });
});

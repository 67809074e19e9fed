import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { toMs, type Duration } from "../../src/runtime/duration.js";

describe("duration", () => {
  it.each([
    [0, 0],
    [1500, 1500],
    [0.5, 0.5],
    ["0ms", 0],
    ["250ms", 250],
    ["5s", 5000],
    ["30s", 30_000],
    ["1.5s", 1500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["720h", 2_592_000_000],
    ["0.0004s", 0],
    ["0.5ms", 1],
  ] as Array<[Duration, number]>)("duration - %j is %d ms", (d, ms) => {
    expect(toMs(d)).toBe(ms);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("duration - the number %d is a ConfigurationError", (n) => {
    expect(() => toMs(n)).toThrow(ConfigurationError);
  });

  it.each(["", "5", "ms", "5 s", " 5s", "5s ", "-5s", "+5s", "5d", "5S", "5Ms", ".5s", "5.s", "1e3ms", "5sec", "5min", "Infinitys", "0x10s"])("duration - %j is a ConfigurationError", (s) => {
    expect(() => toMs(s as Duration)).toThrow(ConfigurationError);
  });

  it("duration - a string too large to be a finite number of ms is a ConfigurationError", () => {
    // Regression: "9…9h" parsed to Infinity and was returned as a duration.
    expect(() => toMs(`${"9".repeat(400)}h` as Duration)).toThrow(ConfigurationError);
    expect(() => toMs(`${"9".repeat(400)}.5ms` as Duration)).toThrow(ConfigurationError);
  });

  it("duration - the error names the setting", () => {
    expect(() => toMs("soon" as Duration, "retry.base")).toThrow(/retry\.base "soon" is not a duration/);
    expect(() => toMs(-5, "lease")).toThrow(/lease must be a non-negative number/);
  });
});

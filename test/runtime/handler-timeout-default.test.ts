/**
 * Regression (issue 14): a consumer had no handler timeout unless one was set,
 * so a handler that never resolved held its key and a concurrency slot
 * forever and `concurrency` of them stopped the consumer. Now every consumer
 * has one (five minutes) unless it turns it off. That a hung handler is then
 * retried and dead-lettered, on every transport, is the seam suite's
 * "never-resolving handler" case (src/testing/seam-runtime.ts).
 */
import { describe, expect, it } from "vitest";
import { consumerSettings, DEFAULT_HANDLER_TIMEOUT } from "../../src/runtime/consume-options.js";
import { ConfigurationError } from "../../src/index.js";

describe("handler timeout default", () => {
  it("regression - a consumer without a timeout option still times a hung handler out (five minutes)", () => {
    expect(DEFAULT_HANDLER_TIMEOUT).toBe("5m");
    expect(consumerSettings({ group: "g" }).timeoutMs).toBe(300_000);
  });

  it("timeout: false turns it off; a duration replaces it; a bad one is a ConfigurationError", () => {
    expect(consumerSettings({ group: "g", timeout: false }).timeoutMs).toBeUndefined();
    expect(consumerSettings({ group: "g", timeout: "2h" }).timeoutMs).toBe(7_200_000);
    expect(() => consumerSettings({ group: "g", timeout: "soon" as never })).toThrow(ConfigurationError);
  });
});

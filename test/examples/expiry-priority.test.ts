import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - expiry and priority", () => {
  it("expiry and priority - an expired quote and a late request are dead-lettered unhandled, an urgent task overtakes the backlog", async () => {
    const stdout = await runExample("expiry-priority");
    expect(stdout).toContain("quote: handled 0 time(s); dead-lettered: expired (MISSIVE_EXPIRED)");
    expect(stdout).toContain("request: timed out");
    expect(stdout).toContain("late request: handled 0 time(s); dead-lettered: expired");
    const place = Number(/refund handled as number (\d+) of 21/.exec(stdout)?.[1]);
    expect(place).toBeLessThanOrEqual(10);
    expect(stdout).toContain("expiry-priority example finished");
  }, 90_000);
});

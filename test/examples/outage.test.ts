import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - outage", () => {
  it("outage - publishes during a locked database resolve spooled, then all four are billed in order", async () => {
    const stdout = await runExample("outage");
    expect(stdout).toContain("o-1: confirmed");
    expect(stdout).toContain("status: broker down");
    expect(stdout).toContain("during the outage: spooled, spooled, spooled; spool holds 3");
    expect(stdout).toContain("status: broker up");
    expect(stdout).toContain("status: spool drained, 0 waiting");
    expect(stdout).toContain("billed: o-1, o-2, o-3, o-4; spool holds 0; broker up");
    expect(stdout).toContain("outage example finished");
  }, 90_000);
});

import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - dead letters", () => {
  it("dead letters - a refused message lands in the database table with its diagnostics, and a replay delivers it again under its id", async () => {
    const stdout = await runExample("dead-letters");
    expect(stdout).toMatch(/dead letter \d+: invoice\.due MISSIVE_PERMANENT "mail provider rejected the template" after 1 attempt\(s\)/);
    expect(stdout).toContain('summary: [["invoice.due","PermanentError",1]]');
    expect(stdout).toContain("replayed 1 of 1; sent inv-7 (id kept); left in the table: 0");
    expect(stdout).toContain("dead-letters example finished");
  }, 90_000);
});

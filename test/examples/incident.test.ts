import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - incident", () => {
  it("incident - summary by type × error, an edit refused then accepted, a replay by query: 4 shipped, none left", async () => {
    const stdout = await runExample("incident");
    expect(stdout).toContain("3 × order.paid  MISSIVE_UNKNOWN TypeError");
    expect(stdout).toContain("1 × order.paid  MISSIVE_SCHEMA SchemaValidationError");
    expect(stdout).toContain("edit refused by the contract");
    expect(stdout).toContain("replayed 3 of 3 dead letters of the bad deploy");
    expect(stdout).toContain("shipped: o-1 to 75001, o-2 to 75001, o-3 to 75001, o-4 to 75004");
    expect(stdout).toContain("incident example finished");
  }, 90_000);
});

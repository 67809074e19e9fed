import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - demo", () => {
  it("demo - runs on the SQLite default: 3 charges, the duplicate absorbed, 2 dead letters with diagnostics", async () => {
    const stdout = await runExample("demo");
    expect(stdout).toContain("charges table (3 rows");
    expect(stdout).toContain('"duplicates":1');
    expect(stdout).toContain("reason: permanent, error: PermanentError MISSIVE_PERMANENT");
    expect(stdout).toContain("reason: poison, error: DecodeError MISSIVE_DECODE");
    expect(stdout).toContain("body kept as sent: {orderId: o-5,");
    expect(stdout).toContain("demo finished");
  }, 90_000);
});

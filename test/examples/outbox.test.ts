import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - outbox", () => {
  it("outbox - orders and their messages commit together, a rolled-back order sends nothing, a re-delivery is charged once", async () => {
    const stdout = await runExample("outbox");
    expect(stdout).toContain("order o-4 rolled back (payment provider said no): neither the order nor its message exists");
    expect(stdout).toContain("relayed 4 messages; billing charged");
    // Per-key order: ada's orders in the order they were placed.
    const charged = /billing charged (.*)/.exec(stdout)![1]!.split(", ");
    expect(charged.filter((o) => ["o-1", "o-2", "o-5"].includes(o))).toEqual(["o-1", "o-2", "o-5"]);
    expect(charged.sort()).toEqual(["o-1", "o-2", "o-3", "o-5"]);
    expect(stdout).toContain("o-1 delivered again with its id: charged 1 time(s)");
    expect(stdout).toContain('outbox lag: {"unsent":0}');
    expect(stdout).toContain("outbox example finished");
  }, 90_000);
});

import { describe, expect, it } from "vitest";
import { runExample } from "../examples/run-example.js";

describe("examples - dashboard mounted", () => {
  it("dashboard-mount - the console answers under its prefix beside the app's own routes, behind its token, and groups the failures", async () => {
    const stdout = await runExample("dashboard-mount");
    expect(stdout).toContain("page: 200, default-src 'self'");
    expect(stdout).toContain("without the token: 401");
    expect(stdout).toContain("your route: ok; not the dashboard's: 404");
    expect(stdout).toContain('failure group: 3 × order.placed "order <id> has no customer"');
    expect(stdout).toContain("dashboard-mount example finished");
  }, 90_000);
});

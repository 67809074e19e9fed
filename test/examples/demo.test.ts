import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("examples - demo", () => {
  it("demo - runs on the SQLite default: 3 charges, the duplicate absorbed, 2 dead letters with diagnostics", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/demo.ts"], { cwd: process.cwd(), timeout: 60_000 });
    expect(stdout).toContain("charges table (3 rows");
    expect(stdout).toContain('"duplicates":1');
    expect(stdout).toContain("reason: permanent, error: PermanentError MISSIVE_PERMANENT");
    expect(stdout).toContain("reason: poison, error: DecodeError MISSIVE_DECODE");
    expect(stdout).toContain("body kept as sent: {orderId: o-5,");
    expect(stdout).toContain("demo finished");
  }, 90_000);
});

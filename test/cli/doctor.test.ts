/** The real `missive` binary (dist/cli/main.js, built by `npm test`) against real SQLite files. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { MISSIVE_VERSION } from "../../src/index.js";

const BIN = join(process.cwd(), "dist", "cli", "main.js");

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  if (!existsSync(BIN)) execSync("npm run build", { stdio: "ignore" });
  dir = mkdtempSync(join(tmpdir(), "missive-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("cli", () => {
  it("cli - --version prints the package version", async () => {
    const r = await cli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(MISSIVE_VERSION);
  });

  it("cli - doctor on a FULL-sync SQLite file: no warnings, exit 0", async () => {
    const r = await cli(["doctor", "--url", `sqlite://${join(dir, "full.db")}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("transport: sqlite");
    expect(r.stdout).toContain("synchronous: FULL");
    expect(r.stdout).toContain("journal_mode: wal");
    expect(r.stdout).toContain("no durability warnings");
  });

  it("cli - doctor --json, URL from MISSIVE_URL, NORMAL sync: the warning and exit 3", async () => {
    const r = await cli(["doctor", "--json"], { MISSIVE_URL: `sqlite://${join(dir, "normal.db")}?synchronous=NORMAL` });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { transport: string; durability: { warnings: string[]; settings: Record<string, string> } };
    expect(report.transport).toBe("sqlite");
    expect(report.durability.settings["synchronous"]).toBe("NORMAL");
    expect(report.durability.warnings.join(" ")).toContain("power loss");
  });

  it("cli - errors: no URL, unknown command, bad scheme (password never printed), unopenable file", async () => {
    const none = await cli(["doctor"], { MISSIVE_URL: "" });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no transport URL");
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const scheme = await cli(["doctor", "--url", "amqp://guest:hunter2@127.0.0.1:5672"]);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toContain("MISSIVE_CONFIG");
    expect(scheme.stderr + scheme.stdout).not.toContain("hunter2");
    expect(scheme.stderr).not.toMatch(/\n\s+at /); // no stack trace by default
    const bad = await cli(["doctor", "--url", "sqlite:///proc/no/such/dir/x.db"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^missive: /);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

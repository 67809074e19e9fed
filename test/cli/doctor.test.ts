/** The real `missive` binary: global behaviour (help, version, exit codes, errors) and `doctor`. */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MISSIVE_VERSION } from "../../src/index.js";
import type { SqliteServiceArgs, SqliteServiceMessage } from "../fixtures/sqlite-service.js";
import { exited, forkFixture, killFixtures, nextMessage } from "../support/fixture-process.js";
import { cli, declared, ensureBuilt, expectCleanError, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  ensureBuilt();
  tmp = tempDir("cli-doctor");
});
afterEach(() => killFixtures());
afterAll(() => tmp.cleanup());

describe("cli", () => {
  it("cli - --version prints the package version; --help documents every command and the exit codes", async () => {
    const v = await cli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(MISSIVE_VERSION);
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const word of ["queues", "dlq", "tail", "publish", "doctor", "MISSIVE_URL", "Exit codes:", "4  not found", "5  aborted"]) expect(help.stdout).toContain(word);
    const dlqHelp = await cli(["dlq", "replay", "--help"]);
    expect(dlqHelp.code).toBe(0);
    expect(dlqHelp.stdout).toContain("--yes");
    expect(dlqHelp.stdout).not.toContain("--batch-size"); // hidden
  });

  it("cli - usage errors exit 2 with one line: no command, unknown command, unknown option, missing argument, excess argument", async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: missive");
    for (const args of [["frobnicate"], ["queues", "--frob"], ["dlq", "show"], ["dlq", "show", "1", "2"], ["dlq", "ls", "--limit", "0"], ["dlq", "frob"]]) {
      const r = await cli(args, { env: { MISSIVE_URL: urlOf(join(tmp.dir, "none.db")) } });
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
    }
    expect((await cli(["frobnicate"])).stderr).toContain("unknown command");
  });

  it("cli - doctor on a SQLite file no process has open: the file's journal mode, synchronous unknown (per connection), exit 0", async () => {
    const path = join(tmp.dir, "idle.db");
    await declared(path, "billing");
    const r = await cli(["doctor", "--url", urlOf(path)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("transport: sqlite");
    expect(r.stdout).toContain("journal_mode: wal");
    expect(r.stdout).toContain("synchronous: unknown: no missive process");
    expect(r.stdout).toContain("processes: 0 live");
    expect(r.stdout).toContain("no durability warnings");
  });

  it("cli - doctor reports a FULL-sync service running in another process: live, no warnings, exit 0; gone after its clean close", async () => {
    const path = join(tmp.dir, "full.db");
    const service = forkFixture("sqlite-service", [JSON.stringify({ url: urlOf(path) } satisfies SqliteServiceArgs)]);
    await nextMessage<SqliteServiceMessage>(service, (m) => "ready" in m, 30_000, "the service is up");
    const r = await cli(["doctor", "--url", urlOf(path)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("synchronous: FULL");
    expect(r.stdout).toContain("processes: 1 live");
    expect(r.stdout).toMatch(new RegExp(`process ${String(service.pid)}@\\S+: live, seen \\d+ s ago: synchronous=FULL journal_mode=wal busy_timeout=5000 ms`));
    expect(r.stdout).toContain("no durability warnings");

    service.send({ close: true });
    await nextMessage<SqliteServiceMessage>(service, (m) => "closed" in m, 30_000, "the service closed");
    const after = await cli(["doctor", "--url", urlOf(path), "--json"]);
    expect(after.code).toBe(0);
    const report = JSON.parse(after.stdout) as { durability: { settings: Record<string, string> } };
    expect(report.durability.settings["processes"]).toBe("0 live");
  });

  it("cli - regression: doctor reported its own connection's synchronous=FULL while the service ran with NORMAL (0 warnings, exit 0); now the service's NORMAL, the warning and exit 3", async () => {
    const path = join(tmp.dir, "normal.db");
    const service = forkFixture("sqlite-service", [JSON.stringify({ url: `${urlOf(path)}?synchronous=NORMAL` } satisfies SqliteServiceArgs)]);
    await nextMessage<SqliteServiceMessage>(service, (m) => "ready" in m, 30_000, "the service is up");
    // doctor opens the file with no options (its own connection is FULL) and URL from MISSIVE_URL.
    const r = await cli(["doctor", "--json"], { env: { MISSIVE_URL: urlOf(path) } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { transport: string; durability: { warnings: string[]; settings: Record<string, string> } };
    expect(report.transport).toBe("sqlite");
    expect(report.durability.settings["synchronous"]).toBe("NORMAL");
    expect(report.durability.settings[`process ${String(service.pid)}@${hostname()}`]).toContain("synchronous=NORMAL");
    expect(report.durability.warnings).toHaveLength(1);
    expect(report.durability.warnings[0]).toContain(`process ${String(service.pid)}@`);
    expect(report.durability.warnings[0]).toContain("power loss");

    const text = await cli(["doctor", "--url", urlOf(path)]);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain("WARNING: process");
  });

  it("cli - doctor: a SIGKILLed NORMAL service is reported dead, not counted, and warns nothing (exit 0)", async () => {
    const path = join(tmp.dir, "killed.db");
    const service = forkFixture("sqlite-service", [JSON.stringify({ url: `${urlOf(path)}?synchronous=NORMAL` } satisfies SqliteServiceArgs)]);
    await nextMessage<SqliteServiceMessage>(service, (m) => "ready" in m, 30_000, "the service is up");
    service.kill("SIGKILL");
    await exited(service);
    const r = await cli(["doctor", "--json", "--url", urlOf(path)]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { durability: { warnings: string[]; settings: Record<string, string> } };
    expect(report.durability.settings["processes"]).toBe("0 live, 1 dead (not counted)");
    expect(report.durability.settings[`process ${String(service.pid)}@${hostname()}`]).toMatch(/^dead \(pid \d+ is not running on this host; not counted\): synchronous=NORMAL/);
    expect(report.durability.warnings).toEqual([]);
  });

  it("cli - doctor on memory:// says in memory, lost on exit, as a warning (exit 3)", async () => {
    const r = await cli(["doctor", "--url", "memory://doctor"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("transport: memory");
    expect(r.stdout).toContain("storage: in memory, lost on exit");
    expect(r.stdout).toContain("WARNING: the memory transport keeps everything in this process's memory");
  });

  it("cli - errors: no URL, bad scheme (password never printed), missing file (not created), bad URL option, unopenable path", async () => {
    const none = await cli(["doctor"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no transport URL");
    expectCleanError(none.stderr);

    for (const url of ["kafka://user:secret@127.0.0.1:1/", "mqtt://admin:s3cr%40t@127.0.0.1:1/0"]) {
      for (const args of [["doctor", "--url", url], ["queues", `--url=${url}`], ["dlq", "ls", "--url", url, "--json"]]) {
        const r = await cli(args);
        expect(r.code, args.join(" ")).toBe(2);
        expect(r.stderr).toContain("MISSIVE_CONFIG");
        expect(r.stderr + r.stdout).not.toMatch(/secret|s3cr/);
        expectCleanError(r.stderr);
      }
    }
    // A supported scheme whose server refuses: the operation failed (exit 1), and the password is not printed either.
    for (const url of ["nats://user:secret@127.0.0.1:1/", "postgres://user:secret@127.0.0.1:1/test", "redis://admin:s3cr%40t@127.0.0.1:1/0"]) {
      const r = await cli(["queues", "--url", url]);
      expect(r.code, url).toBe(1);
      expect(r.stderr + r.stdout).not.toMatch(/secret|s3cr/);
      expectCleanError(r.stderr);
    }
    // From the environment too, and with MISSIVE_DEBUG's stack trace.
    const envUrl = await cli(["queues"], { env: { MISSIVE_URL: "kafka://user:secret@127.0.0.1:1/", MISSIVE_DEBUG: "1" } });
    expect(envUrl.code).toBe(2);
    expect(envUrl.stderr).toMatch(/\n\s+at /);
    expect(envUrl.stderr).not.toContain("secret");

    // A supported scheme with nothing listening: a connection failure (exit 1), one clean line, no password.
    const refused = await cli(["queues", "--url", "amqp://user:secret@127.0.0.1:1/"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("MISSIVE_CONNECTION");
    expect(refused.stderr + refused.stdout).not.toContain("secret");
    expectCleanError(refused.stderr);

    const missing = join(tmp.dir, "typo.db");
    const m = await cli(["queues", "--url", urlOf(missing)]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain("no database file");
    expectCleanError(m.stderr);
    expect(existsSync(missing)).toBe(false);

    const option = await cli(["queues", "--url", `${urlOf(missing)}?frob=1`]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown URL parameter");

    const bad = await cli(["doctor", "--url", "sqlite:///proc/no/such/dir/x.db"]);
    expect(bad.code).toBe(2);
    expectCleanError(bad.stderr);
  });
});

/**
 * Issue 15: every failure, on every command, is one line `missive: <message>
 * [MISSIVE_CODE]` and the documented exit code (docs/cli.md). Before, the
 * CLI's own errors (no spool file, no dead letter, a usage error commander
 * reported, an abort) ended without a code.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { cli, deadLetters, ensureBuilt, Order, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let db: string;
let spool: string;
let missing: string;

const BAD_URL = "bogus://nowhere";
const UNREACHABLE = "amqp://guest:guest@127.0.0.1:1";

/** One failure line ending with `[code]`, and nothing else on stderr. */
function expectFailure(r: { code: number | null; stderr: string }, exit: number, code: string, label: string): void {
  expect(r.code, `${label}: ${r.stderr}`).toBe(exit);
  expect(r.stderr, label).toMatch(new RegExp(`^missive: [^\\n]+ \\[${code}\\]\\n$`));
}

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-exit-codes");
  db = join(tmp.dir, "ok.db");
  await deadLetters(db, "billing", 1);
  spool = join(tmp.dir, "p.spool.db");
  openSqliteSpool({ path: spool }).close();
  missing = join(tmp.dir, "missing.db");
});
afterAll(() => tmp.cleanup());

// Every command that takes a transport URL, with arguments that are otherwise fine.
const TRANSPORT_COMMANDS: ReadonlyArray<readonly string[]> = [
  ["queues"], ["dlq", "ls"], ["dlq", "show", "1"], ["dlq", "summary"], ["dlq", "replay", "--all", "--yes"], ["dlq", "discard", "1"],
  ["dlq", "edit", "1", "--data", "{}", "--no-validate"], ["tail", Order.type], ["publish", Order.type, "{}"], ["doctor"], ["topology", "g", "t"],
];
const DATABASE_COMMANDS: ReadonlyArray<readonly string[]> = [["migrate"], ["outbox", "status"]];

describe("cli - exit codes and [CODE] on every command", () => {
  it("cli - a bad URL: exit 2 [MISSIVE_CONFIG] on every command", async () => {
    for (const args of [...TRANSPORT_COMMANDS, ...DATABASE_COMMANDS]) expectFailure(await cli([...args, "--url", BAD_URL]), 2, "MISSIVE_CONFIG", args.join(" "));
    expectFailure(await cli(["spool", "flush", spool, "--url", BAD_URL]), 2, "MISSIVE_CONFIG", "spool flush");
  });

  it("cli - a missing file: exit 2 [MISSIVE_CONFIG] on every command", async () => {
    for (const args of [...TRANSPORT_COMMANDS, ...DATABASE_COMMANDS]) expectFailure(await cli([...args, "--url", urlOf(missing)]), 2, "MISSIVE_CONFIG", args.join(" "));
    for (const args of [["spool", "status", missing], ["spool", "ls", missing], ["spool", "flush", missing, "--url", urlOf(db)]]) {
      expectFailure(await cli(args), 2, "MISSIVE_CONFIG", args.join(" "));
    }
    expectFailure(await cli(["dlq", "ls", "--url", urlOf(db), "--dead-letters", missing]), 2, "MISSIVE_CONFIG", "dlq ls --dead-letters");
    expectFailure(await cli(["publish", Order.type, "{}", "--contracts", missing, "--url", urlOf(db)]), 2, "MISSIVE_CONFIG", "publish --contracts");
  });

  it("cli - an unreachable broker or database: exit 1 [MISSIVE_CONNECTION] on every command", async () => {
    for (const args of TRANSPORT_COMMANDS) expectFailure(await cli([...args, "--url", UNREACHABLE]), 1, "MISSIVE_CONNECTION", args.join(" "));
    for (const args of DATABASE_COMMANDS) expectFailure(await cli([...args, "--url", "postgres://u:p@127.0.0.1:1/db"]), 1, "MISSIVE_CONNECTION", args.join(" "));
    expectFailure(await cli(["spool", "flush", spool, "--url", UNREACHABLE]), 1, "MISSIVE_CONNECTION", "spool flush");
  });

  it("cli - the CLI's own failures: usage 2 [MISSIVE_CONFIG], not found 4 [MISSIVE_NOT_FOUND], aborted 5 [MISSIVE_ABORTED]", async () => {
    expectFailure(await cli(["bogus"]), 2, "MISSIVE_CONFIG", "unknown command");
    expectFailure(await cli(["queues", "--watch", "x", "--url", urlOf(db)]), 2, "MISSIVE_CONFIG", "bad option value");
    expectFailure(await cli(["queues"]), 2, "MISSIVE_CONFIG", "no URL");
    expectFailure(await cli(["publish", Order.type, "{oops", "--url", urlOf(db)]), 2, "MISSIVE_CONFIG", "bad JSON");
    expectFailure(await cli(["dlq", "show", "999", "--url", urlOf(db)]), 4, "MISSIVE_NOT_FOUND", "dlq show");
    expectFailure(await cli(["dlq", "ls", "--group", "nobody", "--url", urlOf(db)]), 4, "MISSIVE_NOT_FOUND", "unknown group");
    // The question comes first on stderr, on a line of its own; the failure is the last line, with its code.
    for (const input of ["n\n", ""]) {
      const declined = await cli(["dlq", "discard", "--all", "--url", urlOf(db)], { input });
      expect(declined.code).toBe(5);
      expect(declined.stderr).toMatch(/^Discard all 1 dead letter\? \[y\/N\] \nmissive: [^\n]+ \[MISSIVE_ABORTED\]\n$/);
    }
    expectFailure(await cli(["publish", "nobody.listens", "{}", "--url", urlOf(db)]), 1, "MISSIVE_UNROUTABLE", "unroutable");
  });
});

/**
 * Issue 15: a group or type that does not exist, named to `dlq` or `tail`, is
 * an error naming what exists (exit 4, MISSIVE_NOT_FOUND), not "no dead
 * letters" (which reads as all is well) nor a tail waiting forever.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, count, deadLetters, declared, ensureBuilt, expectCleanError, Order, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let path: string;
let url: string;

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-unknown");
  path = join(tmp.dir, "u.db");
  url = urlOf(path);
  await deadLetters(path, "billing", 1);
  await declared(path, "shipping");
});
afterAll(() => tmp.cleanup());

describe("cli - unknown group or type", () => {
  it("cli - dlq ls/summary/replay/discard --group <unknown>: exit 4 naming the known groups", async () => {
    for (const args of [["ls"], ["summary"], ["replay", "--yes"], ["discard", "--yes"]]) {
      const r = await cli(["dlq", ...args, "--group", "biling", "--url", url]);
      expect(r.code, args.join(" ")).toBe(4);
      expectCleanError(r.stderr);
      expect(r.stderr, args.join(" ")).toBe('missive: no group "biling" (known groups: billing, shipping) [MISSIVE_NOT_FOUND]\n');
      expect(r.stdout).toBe("");
    }
    expect(count(path, "missive_dead_letters")).toBe(1);
  });

  it("cli - dlq ls --type <unknown>: exit 4 naming the known types; both unknown: both named", async () => {
    const r = await cli(["dlq", "ls", "--type", "cli.order.plced", "--url", url]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`missive: no message type "cli.order.plced" (known message types: ${Order.type}) [MISSIVE_NOT_FOUND]\n`);
    const both = await cli(["dlq", "ls", "--type", "x.y", "--group", "z", "--url", url]);
    expect(both.code).toBe(4);
    expect(both.stderr).toContain('no group "z" (known groups: billing, shipping); no message type "x.y"');
  });

  it("cli - dlq ls of a known group or type with nothing matching is still an empty answer (exit 0)", async () => {
    const r = await cli(["dlq", "ls", "--group", "shipping", "--url", url]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("no dead letters match");
    const typed = await cli(["dlq", "summary", "--type", Order.type, "--group", "shipping", "--url", url]);
    expect(typed.code).toBe(0);
    const replay = await cli(["dlq", "replay", "--group", "shipping", "--yes", "--url", url]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain("nothing replayed");
  });

  it("cli - tail <unknown>: exit 4 naming the known groups and types, no temporary group left", async () => {
    const r = await cli(["tail", "cli.order.plced", "--url", url]);
    expect(r.code).toBe(4);
    expectCleanError(r.stderr);
    expect(r.stderr).toBe(`missive: no group or message type "cli.order.plced" (known groups: billing, shipping; known message types: ${Order.type}) [MISSIVE_NOT_FOUND]\n`);
    expect(count(path, "missive_groups", "group_name LIKE 'missive.tail.%'")).toBe(0);
  });
});

/** `missive dlq replay|discard`: by ids and by query, confirmation on stdin, --yes, --json, and what the file holds afterwards. */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.js";
import { cli, count, deadLetters, ensureBuilt, expectCleanError, insertDeadLetter, query, start, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let n = 0;
beforeAll(() => {
  ensureBuilt();
  tmp = tempDir("cli-dlq-bulk");
});
afterAll(() => tmp.cleanup());

/** A fresh file with 3 dead letters in billing and 2 in refunds; resolves with its path and the message ids. */
async function fixture(): Promise<{ path: string; url: string; billing: string[]; refunds: string[] }> {
  const path = join(tmp.dir, `b${n++}.db`);
  const billing = await deadLetters(path, "billing", 3);
  const refunds = await deadLetters(path, "refunds", 2);
  // Both groups receive the type, so each holds the other's messages too: start from an empty queue.
  const db = new Database(path);
  db.prepare("DELETE FROM missive_queue").run();
  db.close();
  return { path, url: urlOf(path), billing, refunds };
}

const queued = (path: string, group: string): string[] =>
  query<{ message_id: string }>(path, "SELECT message_id FROM missive_queue WHERE group_name = ? ORDER BY seq", group).map((r) => r.message_id);

describe("cli - dlq replay", () => {
  it("cli - dlq replay <ids>: the ids found go back to their queue with their message id; none found: exit 4", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "replay", "1", "3", "999", "--url", f.url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("replayed 2 of 3 dead letters (not found: 999)");
    expect(queued(f.path, "billing")).toEqual([f.billing[0], f.billing[2]]);
    expect(count(f.path, "missive_dead_letters")).toBe(3);
    // Replayed messages start over: no diagnostics, attempts 0.
    const row = query<{ headers: string; attempts: number }>(f.path, "SELECT headers, attempts FROM missive_queue LIMIT 1")[0]!;
    expect(row.attempts).toBe(0);
    expect(Object.keys(JSON.parse(row.headers) as object).some((h) => h.startsWith("missive-"))).toBe(false);

    const none = await cli(["dlq", "replay", "1", "999", "--url", f.url]);
    expect(none.code).toBe(4);
    expectCleanError(none.stderr);
    expect(none.stderr).toContain("no dead letter with entry id");
    const json = await cli(["dlq", "replay", "2", "--json", "--url", f.url]);
    expect(JSON.parse(json.stdout)).toEqual({ matched: 1, done: 1 });

    // An entry whose group no longer exists stays where it is: said so, exit 1 when nothing moved.
    const db = new Database(f.path);
    db.prepare("DELETE FROM missive_groups WHERE group_name = 'refunds'").run();
    db.close();
    const gone = await cli(["dlq", "replay", "4", "--url", f.url]);
    expect(gone.code).toBe(1);
    expect(gone.stdout.trim()).toBe("replayed 0 of 1 dead letters (1 not replayed: gone meanwhile, or their group no longer exists)");
    expect(count(f.path, "missive_dead_letters", "entry_id = 4")).toBe(1);
  });

  it("cli - dlq replay by query asks on stderr and reads the answer from stdin: y replays, with the summary", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "replay", "--group", "billing", "--error", "MISSIVE_PERMANENT", "--url", f.url], { input: "y\n" });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('Replay 3 dead letters matching {"group":"billing","error":"MISSIVE_PERMANENT"}? [y/N] \n');
    expect(r.stdout.trim()).toBe("replayed 3 of 3 dead letters");
    expect(queued(f.path, "billing")).toEqual(f.billing);
    expect(count(f.path, "missive_dead_letters", "group_name = 'refunds'")).toBe(2);
  });

  it("cli - dlq replay by query: no, anything else, or no answer (EOF) aborts with exit 5 and nothing done", async () => {
    const f = await fixture();
    for (const input of ["n\n", "N\n", "yess\n", "\n", "whatever", undefined]) {
      const r = await cli(["dlq", "replay", "--all", "--url", f.url], input === undefined ? {} : { input });
      expect(r.code, JSON.stringify(input)).toBe(5);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("Replay all 5 dead letters? [y/N] ");
      expect(r.stderr).toContain(input === undefined ? "missive: no answer on stdin: nothing replayed (pass --yes to skip the question)" : "missive: aborted: nothing replayed");
    }
    expect(count(f.path, "missive_dead_letters")).toBe(5);
    expect(count(f.path, "missive_queue")).toBe(0);
    const yes = await cli(["dlq", "replay", "--all", "--url", f.url], { input: "YES\n" });
    expect(yes.code).toBe(0);
    expect(count(f.path, "missive_queue")).toBe(5);
  });

  it("cli - dlq replay --yes --json: no question, {matched, done}; no progress line when stderr is not a terminal", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "replay", "--since", "1h", "--yes", "--json", "--batch-size", "1", "--url", f.url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ matched: 5, done: 5 });
    expect(count(f.path, "missive_queue")).toBe(5);
    const again = await cli(["dlq", "replay", "--all", "--yes", "--url", f.url]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe("no dead letters: nothing replayed");
    // A known type with nothing matching: an empty answer (an unknown type is exit 4: unknown-names.test.ts).
    const none = await cli(["dlq", "replay", "--type", "cli.order.placed", "--json", "--url", f.url]);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual({ matched: 0, done: 0 });
  });

  it("cli - dlq replay usage errors: no ids and no filter, ids with filters, --all with filters, bad --batch-size: exit 2", async () => {
    const f = await fixture();
    for (const args of [[], ["1", "--group", "billing"], ["1", "--all"], ["--all", "--group", "billing"], ["--all", "--yes", "--batch-size", "0"], ["--since", "soon", "--yes"]]) {
      const r = await cli(["dlq", "replay", ...args, "--url", f.url]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
    }
    expect(count(f.path, "missive_dead_letters")).toBe(5);
  });
});

describe("cli - dlq discard", () => {
  it("cli - dlq discard by ids and by query (confirmed on stdin, or --yes): entries gone for good", async () => {
    const f = await fixture();
    const byId = await cli(["dlq", "discard", "4", "--url", f.url]);
    expect(byId.code).toBe(0);
    expect(byId.stdout.trim()).toBe("discarded 1 of 1 dead letters");
    expect((await cli(["dlq", "discard", "4", "--url", f.url])).code).toBe(4);

    const declined = await cli(["dlq", "discard", "--group", "billing", "--url", f.url], { input: "n\n" });
    expect(declined.code).toBe(5);
    expect(declined.stderr).toContain('Discard 3 dead letters matching {"group":"billing"}? [y/N] ');
    expect(count(f.path, "missive_dead_letters")).toBe(4);

    const r = await cli(["dlq", "discard", "--group", "billing", "--url", f.url], { input: "y\n" });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("discarded 3 of 3 dead letters");
    const json = await cli(["dlq", "discard", "--all", "--yes", "--json", "--url", f.url]);
    expect(JSON.parse(json.stdout)).toEqual({ matched: 1, done: 1 });
    expect(count(f.path, "missive_dead_letters")).toBe(0);
    expect(count(f.path, "missive_queue")).toBe(0);
  });

  it("cli - dlq discard needs ids, --all or a filter; a missing file is exit 2 and is not created", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "discard", "--yes", "--url", f.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("give entry ids, --all, or at least one filter");
    const missing = await cli(["dlq", "discard", "--all", "--yes", "--url", urlOf(join(tmp.dir, "missing.db"))]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("MISSIVE_CONFIG");
  });
});

describe("cli - dlq bulk failures", () => {
  it("cli - dlq replay interrupted by SIGINT stops between batches, reports what it did, exit 5; nothing lost", async () => {
    const path = join(tmp.dir, `int${n++}.db`);
    await deadLetters(path, "billing", 1);
    const db = new Database(path);
    const insert = db.prepare("INSERT INTO missive_dead_letters (group_name, topic, message_id, headers, body, dead_lettered_at) VALUES ('billing', 'cli.order.placed', ?, '{}', x'7b7d', ?)");
    db.transaction(() => {
      for (let i = 0; i < 1500; i++) insert.run(`bulk-${i}`, Date.now() - 1000);
    })();
    db.close();
    const run = start(["dlq", "replay", "--all", "--yes", "--batch-size", "1", "--url", urlOf(path)]);
    await waitFor(() => count(path, "missive_queue", "message_id LIKE 'bulk-%'") > 0, 15_000, "the replay to start");
    run.child.kill("SIGINT");
    const r = await run.finished;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(5);
    const m = /^replayed (\d+) of 1501 dead letters \(interrupted\)$/.exec(r.stdout.trim());
    expect(m, r.stdout).not.toBeNull();
    const done = Number(m![1]);
    expect(done).toBeLessThan(1501);
    expect(count(path, "missive_queue")).toBe(done);
    expect(count(path, "missive_dead_letters")).toBe(1501 - done);
  });

  it("cli - a store error (the file locked by another writer past busyTimeoutMs) is exit 1 with one line, nothing changed", async () => {
    const path = join(tmp.dir, `lock${n++}.db`);
    await deadLetters(path, "billing", 2);
    insertDeadLetter(path, { group: "billing", topic: "x", messageId: "x-1", headers: "{}", body: Buffer.from("{}") });
    const locker = new Database(path);
    locker.exec("BEGIN IMMEDIATE");
    try {
      const r = await cli(["dlq", "discard", "--all", "--yes", "--url", `${urlOf(path)}?busyTimeoutMs=50`]);
      expect(r.code).toBe(1);
      expectCleanError(r.stderr);
      expect(r.stderr).toContain("[MISSIVE_CONNECTION]");
    } finally {
      locker.exec("ROLLBACK");
      locker.close();
    }
    expect(count(path, "missive_dead_letters")).toBe(3);
  });
});

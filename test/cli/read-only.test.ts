/**
 * Issue 15: read-only commands never write into a file. Opening the SQLite
 * transport switches the file to WAL and runs missive's DDL (and the URL
 * form adds the inbox table), so `queues` on a service's file used to add a
 * table to it, and `queues` on an empty file made it into a 70 KB database.
 * Now an empty, foreign or incomplete file is refused (exit 2) and left as
 * it was, a missing one is not created, and a complete one is only read.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, deadLetters, ensureBuilt, expectCleanError, Order, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let service: string;

const READ_ONLY: ReadonlyArray<readonly string[]> = [["queues"], ["queues", "--json"], ["dlq", "ls"], ["dlq", "ls", "--group", "billing"], ["dlq", "show", "1"], ["dlq", "show", "1", "--json"], ["dlq", "summary"], ["doctor"]];
// Commands that write by nature (tail's temporary group, a publish) still never make a file into a database.
const WRITING: ReadonlyArray<readonly string[]> = [["publish", Order.type, "{}"], ["tail", Order.type, "--count", "1"], ["dlq", "replay", "--all", "--yes"], ["dlq", "discard", "1"], ["topology", "g", "t"]];

function fingerprint(path: string): { size: number; mtimeMs: number; sha: string } {
  const st = statSync(path);
  return { size: st.size, mtimeMs: st.mtimeMs, sha: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-read-only");
  // A file as a service leaves it (made with sqliteTransport({ path }), so without the URL form's inbox table).
  service = join(tmp.dir, "service.db");
  await deadLetters(service, "billing", 1);
});
afterAll(() => tmp.cleanup());

describe("cli - read-only commands never write into a file", () => {
  it("cli - queues, dlq ls/show/summary, doctor on a service's file: size, mtime and bytes unchanged", async () => {
    const before = fingerprint(service);
    // Let a write, if any, land on a later mtime.
    await new Promise((r) => setTimeout(r, 20));
    for (const args of READ_ONLY) {
      const r = await cli([...args, "--url", urlOf(service)]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      expect(fingerprint(service), args.join(" ")).toEqual(before);
    }
  });

  it("cli - an empty file is refused by every command (exit 2) and stays 0 bytes", async () => {
    const empty = join(tmp.dir, "empty.db");
    writeFileSync(empty, "");
    for (const args of [...READ_ONLY, ...WRITING]) {
      const r = await cli([...args, "--url", urlOf(empty)]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
      expect(r.stderr, args.join(" ")).toContain("is an empty file, not a missive database (the CLI never makes a file into one) [MISSIVE_CONFIG]");
      expect(statSync(empty).size, args.join(" ")).toBe(0);
    }
    for (const args of [["spool", "status", empty], ["spool", "ls", empty]]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(statSync(empty).size, args.join(" ")).toBe(0);
    }
  });

  it("cli - a missing file is not created, by any command", async () => {
    const missing = join(tmp.dir, "missing.db");
    for (const args of [...READ_ONLY, ...WRITING]) {
      const r = await cli([...args, "--url", urlOf(missing)]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
      expect(r.stderr).toContain("[MISSIVE_CONFIG]");
      expect(existsSync(missing), args.join(" ")).toBe(false);
    }
  });

  it("cli - another application's SQLite file, or a file that is not SQLite, is refused and left as it was", async () => {
    const foreign = join(tmp.dir, "app.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');");
    db.close();
    const text = join(tmp.dir, "notes.db");
    writeFileSync(text, "not a database at all\n");
    for (const [file, why] of [[foreign, "is not a missive database (it has no missive_queue table"], [text, "is not a SQLite database"]] as const) {
      const before = fingerprint(file);
      for (const args of [...READ_ONLY, ...WRITING]) {
        const r = await cli([...args, "--url", urlOf(file)]);
        expect(r.code, `${file} ${args.join(" ")}`).toBe(2);
        expect(r.stderr).toContain(why);
        expect(fingerprint(file)).toEqual(before);
      }
    }
  });

  it("cli - a missive file missing a table a read would add is refused by read-only commands, untouched", async () => {
    const partial = join(tmp.dir, "partial.db");
    writeFileSync(partial, readFileSync(service));
    const db = new Database(partial);
    db.exec("DROP TABLE missive_processes");
    db.close();
    const before = fingerprint(partial);
    const r = await cli(["queues", "--url", urlOf(partial)]);
    expect(r.code).toBe(2);
    expectCleanError(r.stderr);
    expect(r.stderr).toContain("is not a complete missive database of this version (it lacks missive_processes)");
    expect(fingerprint(partial)).toEqual(before);
  });
});

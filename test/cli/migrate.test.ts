/** `missive migrate`: creates the outbox and inbox tables on PostgreSQL, MariaDB and SQLite; refuses bad names and URLs. */
import { join } from "node:path";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropSchema } from "../../src/stores/sql/schema.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";
import { cli, ensureBuilt, expectCleanError, tempDir } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  ensureBuilt();
  tmp = tempDir("cli-migrate");
});
afterAll(() => tmp.cleanup());

describe("cli migrate", () => {
  it("cli migrate - postgres: creates both tables (twice is fine), --json says what it did", async () => {
    const s = uniqueSuffix();
    const names = { outbox: `m_outbox_${s}`, inbox: `m_inbox_${s}` };
    const client = new pg.Client({ host: "127.0.0.1", user: "postgres", database: "test" });
    await client.connect();
    try {
      for (let i = 0; i < 2; i++) {
        const r = await cli(["migrate", "--url", "postgres://postgres@127.0.0.1:5432/test", "--outbox-table", names.outbox, "--inbox-table", names.inbox, "--json"]);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual({ url: "postgres://postgres@127.0.0.1:5432/test", dialect: "postgres", outbox: names.outbox, inbox: names.inbox, statements: 9 });
      }
      const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_name = ANY($1) ORDER BY table_name", [[names.outbox, names.inbox]]);
      expect(tables.rows.map((r: { table_name: string }) => r.table_name).sort()).toEqual([names.inbox, names.outbox].sort());
    } finally {
      for (const sql of dropSchema("postgres", names.outbox, names.inbox)) await client.query(sql);
      await client.end();
    }
  });

  it("cli migrate - mariadb: --only inbox creates the inbox table only", async () => {
    const s = uniqueSuffix();
    const names = { outbox: `m_outbox_${s}`, inbox: `m_inbox_${s}` };
    const conn = await mysql.createConnection({ host: "127.0.0.1", user: "root", database: "test" });
    try {
      const r = await cli(["migrate", "--url", "mariadb://root@127.0.0.1:3306/test", "--outbox-table", names.outbox, "--inbox-table", names.inbox, "--only", "inbox"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`inbox table ${names.inbox} ready`);
      const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'test' AND table_name IN (?)", [[names.outbox, names.inbox]]);
      expect(rows.map((x) => x["t"] as string)).toEqual([names.inbox]);
    } finally {
      for (const sql of dropSchema("mysql", names.outbox, names.inbox)) await conn.query(sql);
      await conn.end();
    }
  });

  it("cli migrate - sqlite: creates the tables in an existing file, never creates the file", async () => {
    const path = join(tmp.dir, "app.db");
    new Database(path).close();
    const r = await cli(["migrate", "--url", `sqlite://${path}`]);
    expect(r.code, r.stderr).toBe(0);
    const db = new Database(path, { readonly: true });
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
    db.close();
    expect(names).toEqual(["missive_inbox", "missive_outbox", "missive_outbox_relay"]);
    const missing = await cli(["migrate", "--url", `sqlite://${join(tmp.dir, "nope.db")}`]);
    expect(missing.code).toBe(2);
    expectCleanError(missing.stderr);
  });

  it("cli migrate - --print shows the SQL without connecting; bad names, --only and URLs are usage errors; a refused connection exits 1 without the password", async () => {
    const p = await cli(["migrate", "--url", "postgres://nobody@127.0.0.1:1/x", "--print", "--outbox-table", "shop_outbox", "--only", "outbox"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('CREATE TABLE IF NOT EXISTS "shop_outbox"');
    expect(p.stdout).not.toContain("missive_inbox");
    for (const args of [["--outbox-table", "a;drop"], ["--inbox-table", "__proto__"], ["--only", "both"]]) {
      const r = await cli(["migrate", "--url", "postgres://x@127.0.0.1:1/x", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
    }
    const bad = await cli(["migrate", "--url", "redis://127.0.0.1"]);
    expect(bad.code).toBe(2);
    const refused = await cli(["migrate", "--url", "postgres://postgres:hunter22@127.0.0.1:1/test"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("MISSIVE_CONNECTION");
    expect(refused.stderr).not.toContain("hunter22");
  });

  it("cli outbox status - unsent rows and the age of the oldest, as text and --json; a missing table exits 2", async () => {
    const path = join(tmp.dir, "status.db");
    new Database(path).close();
    expect((await cli(["migrate", "--url", `sqlite://${path}`, "--only", "outbox"])).code).toBe(0);
    const db = new Database(path);
    db.prepare("INSERT INTO missive_outbox (message_id, topic, lane, headers, body, created_at) VALUES ('a', 't', 'k:a', '{}', x'', ?)").run(Date.now() - 90_000);
    db.close();
    const text = await cli(["outbox", "status", "--url", `sqlite://${path}`]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.trim()).toBe("missive_outbox: 1 unsent, oldest 1m old");
    const json = await cli(["outbox", "status", "--url", `sqlite://${path}`, "--json"]);
    const doc = JSON.parse(json.stdout) as { unsent: number; oldestAgeMs: number; table: string; dialect: string };
    expect(doc).toMatchObject({ unsent: 1, table: "missive_outbox", dialect: "sqlite" });
    expect(doc.oldestAgeMs).toBeGreaterThanOrEqual(90_000);
    const missing = await cli(["outbox", "status", "--url", `sqlite://${path}`, "--table", "nope"]);
    expect(missing.code).toBe(2);
    expectCleanError(missing.stderr);
    expect((await cli(["outbox", "status", "--url", `sqlite://${path}`, "--table", "Bad-Name"])).code).toBe(2);
  });
});

/**
 * `missive dlq … --dead-letters <db-url>`: the whole dlq command set on a
 * database dead-letter store (a SQLite file here, PostgreSQL once), with the
 * transport (a SQLite transport file) taking the replays.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, PermanentError } from "../../src/index.js";
import { postgresDeadLetters } from "../../src/stores/postgres/index.js";
import { dropDeadLetterSchema } from "../../src/stores/sql/dead-letter-schema.js";
import { sqliteDeadLetters } from "../../src/stores/sqlite/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { pgPool } from "../conformance/stores/postgres.target.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";
import { waitFor } from "../support/wait.js";
import { Order, cli, count, ensureBuilt, expectCleanError, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let transportPath: string;
let dlPath: string;
let messageIds: string[];

interface ListJson { entries: Array<Record<string, unknown>>; next: string | null }

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-dlq-db");
  transportPath = join(tmp.dir, "t.db");
  dlPath = join(tmp.dir, "dead-letters.db");
  new Database(dlPath).close();
  const migrated = await cli(["migrate", "--url", urlOf(dlPath), "--only", "dead-letters", "--json"]);
  expect(migrated.code, migrated.stderr).toBe(0);
  expect(JSON.parse(migrated.stdout)).toMatchObject({ dialect: "sqlite", outbox: null, inbox: null, deadLetters: "missive_dlq" });
  const db = new Database(dlPath);
  const bus = await missive({ service: "cli-test", transport: sqliteTransport({ path: transportPath }), deadLetters: sqliteDeadLetters({ database: db }) });
  try {
    await bus.consume(Order, { group: "billing" }, () => {
      throw new PermanentError("card declined");
    }).ready;
    messageIds = [];
    for (let i = 0; i < 3; i++) messageIds.push((await bus.publish(Order, { orderId: `o-${i}`, totalCents: i })).id);
    await waitFor(async () => (await bus.deadLetters().count()) === 3, 10_000, "three dead letters in the table");
  } finally {
    await bus.close();
    db.close();
  }
});
afterAll(() => tmp.cleanup());

const dl = (...args: string[]): string[] => [...args, "--url", urlOf(transportPath), "--dead-letters", dlPath];

describe("cli - dlq on a database dead-letter store", () => {
  it("cli - dlq --dead-letters: ls, show and summary read the table, not the transport's own store", async () => {
    const ls = JSON.parse((await cli(dl("dlq", "ls", "--json"))).stdout) as ListJson;
    expect(ls.entries.map((e) => e["messageId"])).toEqual(messageIds);
    expect(ls.entries[0]).toMatchObject({ group: "billing", type: "cli.order.placed", errorCode: "MISSIVE_PERMANENT", errorMessage: "card declined", attempts: 1 });
    const show = await cli(dl("dlq", "show", String(ls.entries[1]!["entryId"]), "--json"));
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ messageId: messageIds[1], diagnostics: { errorClass: "PermanentError", reason: "permanent", group: "billing" } });
    const summary = JSON.parse((await cli(["dlq", "summary", "--json", "--url", urlOf(transportPath), "--dead-letters", urlOf(dlPath)])).stdout) as { summary: unknown[] };
    expect(summary.summary).toEqual([expect.objectContaining({ type: "cli.order.placed", errorCode: "MISSIVE_PERMANENT", count: 3 })]);
    // The transport's native store stayed empty: the database store won.
    expect((await cli(["dlq", "ls", "--url", urlOf(transportPath)])).stdout.trim()).toBe("no dead letters match");
    // MISSIVE_DEAD_LETTERS works like the option.
    const viaEnv = JSON.parse((await cli(["dlq", "ls", "--json", "--url", urlOf(transportPath)], { env: { MISSIVE_DEAD_LETTERS: dlPath } })).stdout) as ListJson;
    expect(viaEnv.entries).toHaveLength(3);
  });

  it("cli - dlq --dead-letters: discard by id, then replay --all back into the group's queue, same message ids", async () => {
    const ls = JSON.parse((await cli(dl("dlq", "ls", "--json"))).stdout) as ListJson;
    const discard = await cli(dl("dlq", "discard", String(ls.entries[0]!["entryId"]), "--json"));
    expect(discard.code, discard.stderr).toBe(0);
    expect(JSON.parse(discard.stdout)).toEqual({ matched: 1, done: 1 });
    const replay = await cli(dl("dlq", "replay", "--all", "--yes", "--json"));
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toEqual({ matched: 2, done: 2 });
    expect(count(dlPath, "missive_dlq")).toBe(0);
    const queued = new Database(transportPath, { readonly: true });
    try {
      const rows = queued.prepare("SELECT message_id, headers FROM missive_queue WHERE group_name = ? ORDER BY message_id").all("billing") as Array<{ message_id: string; headers: string }>;
      expect(rows.map((r) => r.message_id)).toEqual([messageIds[1], messageIds[2]]);
      expect(Object.keys(JSON.parse(rows[0]!.headers) as object).filter((n) => n.startsWith("missive-"))).toEqual([]);
    } finally {
      queued.close();
    }
  });

  it("cli - dlq --dead-letters errors: a missing file or a bad table name exits 2 with one line", async () => {
    const missing = await cli(["dlq", "ls", "--url", urlOf(transportPath), "--dead-letters", join(tmp.dir, "nope.db")]);
    expect(missing.code).toBe(2);
    expectCleanError(missing.stderr);
    expect(missing.stderr).toContain("MISSIVE_CONFIG");
    const badTable = await cli(dl("dlq", "ls", "--dead-letters-table", "x;drop"));
    expect(badTable.code).toBe(2);
    expectCleanError(badTable.stderr);
  });

  it("cli - dlq --dead-letters postgres://: ls and discard on a PostgreSQL table", async () => {
    const pool = pgPool(2);
    const table = `cli_dl_${uniqueSuffix()}`;
    const store = postgresDeadLetters({ pool, table });
    try {
      await store.migrate();
      const wire = { headers: { "ce-id": "pg-1", "missive-error-code": "MISSIVE_SCHEMA" }, body: Buffer.from("{}") };
      const id = await store.add({ group: "billing", topic: "cli.order.placed", messageId: "pg-1", key: undefined, wire, deadLetteredAt: Date.now() });
      const args = ["--url", urlOf(transportPath), "--dead-letters", "postgres://postgres@127.0.0.1:5432/test", "--dead-letters-table", table];
      const ls = JSON.parse((await cli(["dlq", "ls", "--json", ...args])).stdout) as ListJson;
      expect(ls.entries).toEqual([expect.objectContaining({ entryId: id, messageId: "pg-1", errorCode: "MISSIVE_SCHEMA" })]);
      expect((await cli(["dlq", "discard", "--error", "MISSIVE_SCHEMA", "--yes", "--json", ...args])).stdout.trim()).toBe('{"matched":1,"done":1}');
      expect(await store.count()).toBe(0);
    } finally {
      for (const sql of dropDeadLetterSchema("postgres", table)) await pool.query(sql);
      await pool.end();
    }
  });
});

/** The SQL files shipped under sql/ are exactly what the code runs, and they work when copied into another migration tool. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIALECTS, dropSchema, inboxSchema, outboxSchema, renderSql } from "../../src/stores/sql/schema.js";
import { DEFAULT_DEAD_LETTER_TABLE, DEFAULT_INBOX_TABLE, DEFAULT_OUTBOX_TABLE } from "../../src/stores/sql/names.js";
import { deadLetterSchema } from "../../src/stores/sql/dead-letter-schema.js";
import { postgresOutbox } from "../../src/stores/postgres/index.js";
import { mysqlOutbox } from "../../src/stores/mysql/index.js";
import { sqliteOutbox } from "../../src/stores/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { pgPool } from "../conformance/stores/postgres.target.js";
import { mysqlPool } from "../conformance/stores/mysql.target.js";
import { openSqlite } from "../conformance/stores/sqlite.target.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";

const file = (dialect: string, name: string): string => readFileSync(join(process.cwd(), "sql", dialect, name), "utf8");
/** The shipped file with the table renamed, as its header tells a user to do. */
const renamed = (dialect: string, name: string, from: string, to: string): string => file(dialect, name).split(from).join(to);
const data = { orderId: "o-1", seq: 1, totalCents: 1 };

describe("sql files", () => {
  for (const dialect of DIALECTS) {
    it(`sql files - sql/${dialect}/*.sql are the statements migrate() runs, with the default names`, () => {
      expect(file(dialect, "001_outbox.sql")).toBe(renderSql(outboxSchema(dialect, DEFAULT_OUTBOX_TABLE), DEFAULT_OUTBOX_TABLE));
      expect(file(dialect, "002_inbox.sql")).toBe(renderSql(inboxSchema(dialect, DEFAULT_INBOX_TABLE), DEFAULT_INBOX_TABLE));
      expect(file(dialect, "003_dead_letters.sql")).toBe(renderSql(deadLetterSchema(dialect, DEFAULT_DEAD_LETTER_TABLE), DEFAULT_DEAD_LETTER_TABLE));
    });
  }

  it("sql files - postgres: the shipped file, renamed and run as one script, makes a working outbox", async () => {
    const pool = pgPool(2);
    const table = `f_outbox_${uniqueSuffix()}`;
    try {
      await pool.query(renamed("postgres", "001_outbox.sql", DEFAULT_OUTBOX_TABLE, table));
      const outbox = postgresOutbox({ pool, table, source: "files" });
      const c = await pool.connect();
      await c.query("BEGIN");
      await outbox.add(c, OrderPlaced, data);
      await c.query("COMMIT");
      c.release();
      expect((await outbox.lag()).unsent).toBe(1);
    } finally {
      for (const sql of dropSchema("postgres", table, undefined)) await pool.query(sql);
      await pool.end();
    }
  });

  it("sql files - mysql: the shipped file, renamed and split on its statements, makes a working outbox", async () => {
    const pool = mysqlPool(2);
    const table = `f_outbox_${uniqueSuffix()}`;
    try {
      for (const statement of renamed("mysql", "001_outbox.sql", DEFAULT_OUTBOX_TABLE, table).split(/;\n/).map((s) => s.replace(/^--.*$/gm, "").trim()).filter(Boolean)) await pool.query(statement);
      const outbox = mysqlOutbox({ pool, table, source: "files" });
      const c = await pool.getConnection();
      await c.beginTransaction();
      await outbox.add(c, OrderPlaced, data);
      await c.commit();
      c.release();
      expect((await outbox.lag()).unsent).toBe(1);
    } finally {
      for (const sql of dropSchema("mysql", table, undefined)) await pool.query(sql);
      await pool.end();
    }
  });

  it("sql files - sqlite: the shipped file, renamed and run with exec, makes a working outbox", async () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-sqlfiles-"));
    const db = openSqlite(join(dir, "app.db"));
    try {
      const table = `f_outbox_${uniqueSuffix()}`;
      db.exec(renamed("sqlite", "001_outbox.sql", DEFAULT_OUTBOX_TABLE, table));
      const outbox = sqliteOutbox({ database: db, table, source: "files" });
      db.transaction(() => outbox.add(db, OrderPlaced, data))();
      expect((await outbox.lag()).unsent).toBe(1);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The three databases the dead-letter store suite runs on: each setup makes
 * a store on a table of its own (a unique name), migrated, and a teardown
 * that drops it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeadLetterDatabase } from "../../../src/stores/dead-letters.js";
import { mysqlDeadLetters } from "../../../src/stores/mysql/index.js";
import { postgresDeadLetters } from "../../../src/stores/postgres/index.js";
import { dropDeadLetterSchema } from "../../../src/stores/sql/dead-letter-schema.js";
import { sqliteDeadLetters } from "../../../src/stores/sqlite/index.js";
import { mysqlPool } from "./mysql.target.js";
import { pgPool } from "./postgres.target.js";
import { openSqlite } from "./sqlite.target.js";
import { uniqueSuffix } from "./store-target.js";

export interface DeadLetterHandle {
  readonly store: DeadLetterDatabase;
  /** Another store on the same table with these options (size-bound tests). */
  withOptions(options: { maxEntryBytes?: number }): DeadLetterDatabase;
  teardown(): Promise<void>;
}

export interface DeadLetterTarget {
  readonly name: string;
  setup(): Promise<DeadLetterHandle>;
}

export const sqliteDeadLetterTarget: DeadLetterTarget = {
  name: "sqlite",
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), "missive-dlq-store-"));
    const db = openSqlite(join(dir, "app.db"));
    const table = `dl_${uniqueSuffix()}`;
    const store = sqliteDeadLetters({ database: db, table });
    store.migrate();
    return {
      store,
      withOptions: (o) => sqliteDeadLetters({ database: db, table, ...o }),
      async teardown() {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgresDeadLetterTarget: DeadLetterTarget = {
  name: "postgres",
  async setup() {
    const pool = pgPool(4);
    const table = `dl_${uniqueSuffix()}`;
    const store = postgresDeadLetters({ pool, table });
    await store.migrate();
    return {
      store,
      withOptions: (o) => postgresDeadLetters({ pool, table, ...o }),
      async teardown() {
        for (const sql of dropDeadLetterSchema("postgres", table)) await pool.query(sql);
        await pool.end();
      },
    };
  },
};

export const mariadbDeadLetterTarget: DeadLetterTarget = {
  name: "mariadb",
  async setup() {
    const pool = mysqlPool(4);
    const table = `dl_${uniqueSuffix()}`;
    const store = mysqlDeadLetters({ pool, table });
    await store.migrate();
    return {
      store,
      withOptions: (o) => mysqlDeadLetters({ pool, table, ...o }),
      async teardown() {
        for (const sql of dropDeadLetterSchema("mysql", table)) await pool.query(sql);
        await pool.end();
      },
    };
  },
};

/** The outbox inside a Kysely transaction (PostgresDialect and MysqlDialect): committed with the business write, or rolled back with it. */
import { Kysely, MysqlDialect, PostgresDialect, sql, type Transaction } from "kysely";
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/index.js";
import { kyselyTx } from "../../src/stores/kysely/index.js";
import { mysqlOutbox } from "../../src/stores/mysql/index.js";
import { postgresOutbox } from "../../src/stores/postgres/index.js";
import { dropSchema } from "../../src/stores/sql/schema.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { mysqlPool } from "../conformance/stores/mysql.target.js";
import { pgPool } from "../conformance/stores/postgres.target.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";

interface Db {
  [table: string]: { id: string };
}

type Outbox = { add(tx: ReturnType<typeof kyselyTx>, d: typeof OrderPlaced, data: unknown): Promise<{ id: string }>; lag(): Promise<{ unsent: number }> };

async function scenario(db: Kysely<Db>, outbox: Outbox, orders: string): Promise<void> {
  const placed = await db.transaction().execute(async (trx: Transaction<Db>) => {
    await trx.insertInto(orders).values({ id: "o-1" }).execute();
    return outbox.add(kyselyTx(trx), OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 5 });
  });
  expect(placed.id).toMatch(/^[0-9a-f-]{36}$/);
  await expect(
    db.transaction().execute(async (trx: Transaction<Db>) => {
      await trx.insertInto(orders).values({ id: "o-2" }).execute();
      await outbox.add(kyselyTx(trx), OrderPlaced, { orderId: "o-2", seq: 2, totalCents: 5 });
      throw new Error("business rule failed");
    }),
  ).rejects.toThrow("business rule failed");
  expect((await db.selectFrom(orders).select("id").execute()).map((r) => r.id)).toEqual(["o-1"]);
  expect((await outbox.lag()).unsent).toBe(1);
  // Not a transaction: refused.
  expect(() => kyselyTx(db as unknown as Transaction<Db>)).toThrow(ConfigurationError);
  expect(() => kyselyTx({} as Transaction<Db>)).toThrow(ConfigurationError);
}

describe("kysely", () => {
  it("kysely - postgres: outbox.add(kyselyTx(trx), …) commits and rolls back with the Kysely transaction", async () => {
    const pool = pgPool(4);
    const s = uniqueSuffix();
    const table = `k_outbox_${s}`;
    const orders = `k_orders_${s}`;
    const db = new Kysely<Db>({ dialect: new PostgresDialect({ pool }) });
    const outbox = postgresOutbox({ pool, table, source: "kysely" });
    try {
      await outbox.migrate();
      await sql`CREATE TABLE ${sql.table(orders)} (id TEXT PRIMARY KEY)`.execute(db);
      await scenario(db, outbox, orders);
    } finally {
      await sql`DROP TABLE IF EXISTS ${sql.table(orders)}`.execute(db);
      for (const q of dropSchema("postgres", table, undefined)) await sql.raw(q).execute(db);
      await db.destroy();
    }
  });

  it("kysely - mariadb: outbox.add(kyselyTx(trx), …) commits and rolls back with the Kysely transaction", async () => {
    const pool = mysqlPool(4);
    const s = uniqueSuffix();
    const table = `k_outbox_${s}`;
    const orders = `k_orders_${s}`;
    // Kysely's MysqlDialect takes the callback pool; the outbox takes the promise pool over the same connections.
    const db = new Kysely<Db>({ dialect: new MysqlDialect({ pool: pool.pool }) });
    const outbox = mysqlOutbox({ pool, table, source: "kysely" });
    try {
      await outbox.migrate();
      await sql`CREATE TABLE ${sql.table(orders)} (id VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB`.execute(db);
      await scenario(db, outbox, orders);
    } finally {
      await sql`DROP TABLE IF EXISTS ${sql.table(orders)}`.execute(db);
      for (const q of dropSchema("mysql", table, undefined)) await sql.raw(q).execute(db);
      await db.destroy();
    }
  });
});

/** The store entry points' types: add checks its data like publish does, and ctx.transaction hands the store's own handle. */
import type Database from "better-sqlite3";
import type { Pool as MysqlPool, PoolConnection } from "mysql2/promise";
import type { Pool, PoolClient } from "pg";
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineMessage, type Bus, type OutboxReceipt } from "../../src/index.js";
import { mysqlInbox, mysqlOutbox } from "../../src/stores/mysql/index.js";
import { postgresInbox, postgresOutbox } from "../../src/stores/postgres/index.js";
import { sqliteInboxStore, sqliteOutbox } from "../../src/stores/sqlite/index.js";

const Order = defineMessage({ type: "types.order", schema: z.object({ orderId: z.string(), totalCents: z.number().int() }), key: (o) => o.orderId });

describe("store types", () => {
  it("types - outbox.add checks its data against the contract, per store", () => {
    const check = (pool: Pool, client: PoolClient, mpool: MysqlPool, conn: PoolConnection, db: Database.Database): void => {
      const pg = postgresOutbox({ pool, source: "s" });
      expectTypeOf(pg.add(client, Order, { orderId: "a", totalCents: 1 })).toEqualTypeOf<Promise<OutboxReceipt>>();
      // @ts-expect-error totalCents must be a number
      void pg.add(client, Order, { orderId: "a", totalCents: "1" });
      const my = mysqlOutbox({ pool: mpool, source: "s" });
      // @ts-expect-error orderId is required
      void my.add(conn, Order, { totalCents: 1 });
      const lite = sqliteOutbox({ database: db, source: "s" });
      expectTypeOf(lite.add(db, Order, { orderId: "a", totalCents: 1 })).toEqualTypeOf<OutboxReceipt>();
    };
    void check;
  });

  it("types - ctx.transaction hands the inbox store's handle: PoolClient, PoolConnection, Database", () => {
    const check = (bus: Bus, pool: Pool, mpool: MysqlPool, db: Database.Database): void => {
      bus.consume(Order, { group: "g", idempotency: postgresInbox({ pool }) }, async (_d, ctx) => {
        await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<PoolClient>());
      });
      bus.consume(Order, { group: "g", idempotency: mysqlInbox({ pool: mpool }) }, async (_d, ctx) => {
        await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<PoolConnection>());
      });
      bus.consume(Order, { group: "g", idempotency: sqliteInboxStore({ database: db }) }, async (_d, ctx) => {
        await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<Database.Database>());
      });
    };
    void check;
  });
});

/**
 * The bus's type carries its inbox's handle (issue 15, "change the URL"): with the string form
 * `idempotency: "inbox"`, `ctx.transaction` hands the handler the `inbox` store's handle, or the one
 * the transport's URL scheme brings, with no cast; where the bus has no inbox, `"inbox"` does not
 * compile. These checks run in `npm run typecheck` (tsconfig.json includes test/): an expectation
 * that stops holding, or a `@ts-expect-error` that stops erring, fails it.
 */
import type Database from "better-sqlite3";
import type { Pool as MysqlPool, PoolConnection } from "mysql2/promise";
import type { Pool, PoolClient } from "pg";
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineMessage, missive, type Bus, type HandlerContext, type Transport } from "../../src/index.js";
import type { MemoryTx } from "../../src/transports/memory/index.js";
import { sqliteInbox, sqliteTransport } from "../../src/transports/sqlite/index.js";
import { mysqlInbox } from "../../src/stores/mysql/index.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { sqliteInboxStore } from "../../src/stores/sqlite/index.js";
import type { PostgresInboxClient } from "../../src/transports/postgres/inbox-handle.js";

const Order = defineMessage({ type: "types.order", schema: z.object({ orderId: z.string() }), key: (o) => o.orderId });

// Never called: the bodies are there to be type-checked.
describe("bus inbox types", () => {
  it('types - "inbox" types ctx.transaction with the inbox store given to missive(): PoolClient, PoolConnection, Database', () => {
    const check = async (pool: Pool, mpool: MysqlPool, db: Database.Database): Promise<void> => {
      const pg = await missive({ service: "s", transport: "amqp://guest:guest@127.0.0.1:5672/", inbox: postgresInbox({ pool }) });
      expectTypeOf(pg).toEqualTypeOf<Bus<PoolClient>>();
      pg.consume(Order, { group: "g", idempotency: "inbox" }, async (order, ctx) => {
        await ctx.transaction((tx) => {
          expectTypeOf(tx).toEqualTypeOf<PoolClient>();
          return tx.query("INSERT INTO invoices (order_id) VALUES ($1)", [order.orderId]);
        });
        // @ts-expect-error a PoolClient is no better-sqlite3 handle
        await ctx.transaction((tx) => tx.prepare("SELECT 1"));
      });
      const my = await missive({ service: "s", transport: "amqp://127.0.0.1", inbox: mysqlInbox({ pool: mpool }) });
      my.consume(Order, { group: "g", idempotency: "inbox" }, async (_o, ctx) => void (await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<PoolConnection>())));
      const lite = await missive({ service: "s", transport: "amqp://127.0.0.1", inbox: sqliteInboxStore({ database: db }) });
      lite.consume(Order, { group: "g", idempotency: "inbox" }, async (_o, ctx) => void (await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<Database.Database>())));
    };
    void check;
  });

  it('types - "inbox" on a URL whose transport keeps its own inbox types the handle by scheme: sqlite:// a Database, memory:// a MemoryTx', () => {
    const check = async (dir: string): Promise<void> => {
      const lite = await missive({ service: "s", transport: `sqlite://${dir}/missive.db` });
      expectTypeOf(lite).toEqualTypeOf<Bus<Database.Database>>();
      lite.consume(Order, { group: "g", idempotency: "inbox" }, async (order, ctx) => {
        await ctx.transaction((tx) => tx.prepare("INSERT INTO invoices (order_id) VALUES (?)").run(order.orderId));
        // @ts-expect-error better-sqlite3 has no query(): the handle is typed, not unknown
        await ctx.transaction((tx) => tx.query("SELECT 1"));
      });
      const upper = await missive({ service: "s", transport: "SQLite://./x.db" });
      expectTypeOf(upper).toEqualTypeOf<Bus<Database.Database>>();
      const mem = await missive({ service: "s", transport: "memory://shop" });
      mem.consume(Order, { group: "g", idempotency: "inbox" }, async (_o, ctx) => void (await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<MemoryTx>())));
    };
    void check;
  });

  it('types - the store given to the bus wins over the URL\'s own inbox, and the transport\'s own store types like the URL', () => {
    const check = async (pool: Pool, dir: string): Promise<void> => {
      const bus = await missive({ service: "s", transport: `sqlite://${dir}/missive.db`, inbox: postgresInbox({ pool }) });
      expectTypeOf(bus).toEqualTypeOf<Bus<PoolClient>>();
      const transport = sqliteTransport({ path: `${dir}/missive.db` });
      const own = await missive({ service: "s", transport, inbox: sqliteInbox(transport) });
      expectTypeOf(own).toEqualTypeOf<Bus<Database.Database>>();
    };
    void check;
  });

  it('types - a bus with no inbox (amqp:// with no store, a transport object) does not take "inbox", but takes a store', () => {
    const check = async (pool: Pool, transport: Transport): Promise<void> => {
      const rabbit = await missive({ service: "s", transport: "amqp://guest:guest@127.0.0.1:5672/" });
      expectTypeOf(rabbit).toEqualTypeOf<Bus<never>>();
      // @ts-expect-error RabbitMQ keeps no inbox: give missive() an `inbox` store
      rabbit.consume(Order, { group: "g", idempotency: "inbox" }, () => undefined);
      rabbit.consume(Order, { group: "g", idempotency: postgresInbox({ pool }) }, async (_o, ctx) => void (await ctx.transaction((tx) => expectTypeOf(tx).toEqualTypeOf<PoolClient>())));
      const object = await missive({ service: "s", transport });
      // @ts-expect-error a transport object comes with no inbox
      object.consume(Order, { group: "g", idempotency: "inbox" }, () => undefined);
      // @ts-expect-error the bus-wide default cannot ask for an inbox the bus does not have
      await missive({ service: "s", transport: "amqps://rabbit:5671/", idempotency: "inbox" });
      await missive({ service: "s", transport: "amqps://rabbit:5671/", idempotency: "inbox", inbox: postgresInbox({ pool }) });
      const redis = await missive({ service: "s", transport: "redis://127.0.0.1:6379/0" });
      expectTypeOf(redis).toEqualTypeOf<Bus<never>>();
      // @ts-expect-error Redis keeps no inbox either (rediss:// too)
      await missive({ service: "s", transport: "rediss://cache:6380", idempotency: "inbox" });
    };
    void check;
  });

  it("types - a URL not known at compile time keeps the handle unknown and takes \"inbox\" (missive() checks it at run time)", () => {
    const check = async (url: string): Promise<void> => {
      const bus = await missive({ service: "s", transport: url });
      expectTypeOf(bus).toEqualTypeOf<Bus<unknown>>();
      bus.consume(Order, { group: "g", idempotency: "inbox" }, async (_o, ctx) => void (await ctx.transaction((tx) => expectTypeOf(tx).toBeUnknown())));
    };
    void check;
  });

  it("types - the handle comes from the bus or the store, not from how the handler is annotated", () => {
    const check = async (dir: string): Promise<void> => {
      const lite = await missive({ service: "s", transport: `sqlite://${dir}/missive.db` });
      // @ts-expect-error this bus hands a better-sqlite3 Database, not a PoolClient
      lite.consume(Order, { group: "g", idempotency: "inbox" }, async (_o, ctx: HandlerContext<PoolClient>) => void ctx);
      lite.consume(Order, { group: "g", idempotency: "inbox" }, async (_o, ctx: HandlerContext<Database.Database>) => void ctx);
    };
    void check;
  });

  it("types - on a bus whose inbox is not known at compile time, annotating ctx names the handle, as before", () => {
    const check = async (url: string): Promise<void> => {
      const bus = await missive({ service: "s", transport: url });
      bus.consume(Order, { group: "g", idempotency: "inbox" }, async (order, ctx: HandlerContext<Database.Database>) => {
        await ctx.transaction((tx) => tx.prepare("INSERT INTO invoices (order_id) VALUES (?)").run(order.orderId));
      });
    };
    void check;
  });

  it("types - a bus of any inbox is still a Bus (functions taking `Bus` keep working)", () => {
    const check = async (pool: Pool, dir: string): Promise<Bus[]> => [
      await missive({ service: "s", transport: "amqp://127.0.0.1" }),
      await missive({ service: "s", transport: "amqp://127.0.0.1", inbox: postgresInbox({ pool }) }),
      await missive({ service: "s", transport: `sqlite://${dir}/missive.db` }),
    ];
    void check;
  });
  it('types - a postgres:// URL literal types ctx.transaction structurally (missive\'s root types need no pg installed), and a pg PoolClient is that handle', () => {
    const check = async (client: PoolClient): Promise<void> => {
      const bus = await missive({ service: "s", transport: "postgres://postgres@127.0.0.1:5432/test" });
      expectTypeOf(bus).toEqualTypeOf<Bus<PostgresInboxClient>>();
      bus.consume(Order, { group: "g", idempotency: "inbox" }, async (_order, ctx) => {
        await ctx.transaction(async (tx) => {
          const r = await tx.query<{ one: number }>("SELECT 1 AS one");
          expectTypeOf(r.rows).toEqualTypeOf<{ one: number }[]>();
        });
      });
      const handle: PostgresInboxClient = client;
      void handle;
    };
    void check;
  });
});

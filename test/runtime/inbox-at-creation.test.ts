/**
 * "Change the URL" made true (issue 15, item 5): an inbox configuration that
 * cannot work fails when the bus is created, with the code to paste, not at
 * the first consume() or the first message; and with the string form
 * `idempotency: "inbox"` the handler writes through `ctx.transaction`'s typed
 * handle (no casts below: test/unit/bus-inbox-types.test.ts holds the types).
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ConfigurationError, missive, uuidv7, type Bus } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { sqliteInboxStore } from "../../src/stores/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { pgPool } from "../conformance/stores/postgres.target.js";
import { uniqueName, waitFor } from "../support/wait.js";

const pool = pgPool(2);
const buses: Bus[] = [];
const dirs: string[] = [];
const tables: string[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  for (const t of tables) await pool.query(`DROP TABLE IF EXISTS "${t}"`);
  await pool.end();
});

/** A PostgreSQL table name of this test's own (dropped after the file). */
const table = (what: string): string => {
  const name = `inbox_${what}_${uniqueName("t").replace(/-/g, "_")}`;
  tables.push(name);
  return name;
};
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "missive-inbox-creation-"));
  dirs.push(dir);
  return dir;
};
const memoryUrl = (): string => `memory://${uniqueName("inbox-creation")}`;
const keep = <B extends Bus>(bus: B): B => {
  buses.push(bus);
  return bus;
};

/** How many of this process's file descriptors point at `path` (its -wal and -shm files included). */
function openHandlesOn(path: string): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
    } catch {
      return false; // the descriptor closed while listing (readdir's own among them)
    }
  }).length;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const outcome = await p.then(
    (bus) => ({ bus }),
    (err: unknown) => ({ err }),
  );
  if ("bus" in outcome) {
    keep(outcome.bus as Bus);
    throw new Error("missive() resolved; expected it to reject");
  }
  expect(outcome.err).toBeInstanceOf(ConfigurationError);
  return outcome.err as Error;
}

describe("inbox at bus creation", () => {
  it("inbox at creation - a postgres inbox store whose table was never migrated fails missive(), not the first consumer, with the migrate command", async () => {
    const name = table("missing");
    const err = await rejection(missive({ service: "billing", transport: memoryUrl(), inbox: postgresInbox({ pool, table: name }) }));
    expect(err.message).toContain(`missive migrate --url postgres://… --only inbox --inbox-table ${name}`);
    expect(err.message).toContain("inbox.migrate()");
  });

  it("inbox at creation - the transport missive() opened from a URL for a bus that fails on its inbox is closed: no handle on the file is left", async () => {
    const path = join(tempDir(), "missive.db");
    await rejection(missive({ service: "billing", transport: `sqlite://${path}`, inbox: postgresInbox({ pool, table: table("missing") }) }));
    expect(openHandlesOn(path)).toBe(0);
  });

  it("inbox at creation - a SQLite inbox store (on your own database) whose table is missing fails missive() with the migrate command", async () => {
    const db = new Database(join(tempDir(), "app.db"));
    try {
      const err = await rejection(missive({ service: "billing", transport: memoryUrl(), inbox: sqliteInboxStore({ database: db }) }));
      expect(err.message).toContain("missive migrate --url sqlite://… --only inbox");
    } finally {
      db.close();
    }
  });

  it('inbox at creation - idempotency: "inbox" as the bus default on RabbitMQ (no inbox of its own) fails missive() before connecting, with the code to paste', async () => {
    // A URL from the environment, as in a deployment (a literal amqp:// URL does not even compile with "inbox").
    // Port 1 has no broker: reaching connect() would fail with a ConnectionError instead.
    const url: string = process.env["MISSIVE_TEST_NO_SUCH_URL"] ?? "amqp://guest:guest@127.0.0.1:1/";
    const err = await rejection(missive({ service: "billing", transport: url, idempotency: "inbox" }));
    expect(err.message).toContain("the bus options have idempotency: \"inbox\"");
    expect(err.message).toContain("transport rabbitmq keeps none of its own");
    expect(err.message).toContain('import { postgresInbox } from "missive/stores/postgres"');
    expect(err.message).toContain("await inbox.migrate();");
    expect(err.message).toContain("missive({ service, transport, inbox })");
  });

  it('inbox at creation - idempotency: "inbox" as the bus default on a transport object (which brings no inbox) fails missive(); the transport stays unconnected', async () => {
    const broker = createMemoryBroker({ seed: 15 });
    const transport = broker.transport();
    let connected = false;
    const connect = transport.connect.bind(transport);
    transport.connect = (context) => {
      connected = true;
      return connect(context);
    };
    // @ts-expect-error the types refuse it too (a transport object brings no inbox); a JavaScript caller gets the error
    await rejection(missive({ service: "billing", transport, idempotency: "inbox" }));
    expect(connected).toBe(false);
  });

  it("inbox at creation - an inbox option that is not a store (the pool itself) fails missive() with the line to write", async () => {
    const err = await rejection(missive({ service: "billing", transport: memoryUrl(), inbox: pool as never }));
    expect(err.message).toContain("inbox: postgresInbox({ pool })");
  });

  it('inbox at creation - bus default idempotency: "inbox" with a postgres store: consumers use it unasked, tx is a PoolClient, a redelivery has no second effect', async () => {
    const inboxTable = table("ok");
    const invoices = table("invoices");
    const inbox = postgresInbox({ pool, table: inboxTable });
    await inbox.migrate();
    await pool.query(`CREATE TABLE "${invoices}" (order_id text NOT NULL)`);
    const bus = keep(await missive({ service: "billing", transport: memoryUrl(), inbox, idempotency: "inbox" }));
    const consumer = bus.consume(OrderPlaced, { group: "billing" }, async (order, ctx) => {
      await ctx.transaction((tx) => tx.query(`INSERT INTO "${invoices}" (order_id) VALUES ($1)`, [order.orderId]));
    });
    await consumer.ready;
    const id = uuidv7();
    await bus.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 100 }, { id });
    await bus.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 100 }, { id });
    await waitFor(() => consumer.stats().handled + consumer.stats().duplicates === 2, 10_000, "both deliveries settled");
    expect(consumer.stats().duplicates).toBe(1);
    const rows = await pool.query(`SELECT order_id FROM "${invoices}"`);
    expect(rows.rows).toEqual([{ order_id: "o-1" }]);
    expect(await inbox.seen("billing", id)).toBe(true);
    inbox.close();
  });

  it('inbox at creation - on sqlite:// the file\'s own inbox: "inbox" hands the better-sqlite3 handle of the file, effect and dedup record in one commit', async () => {
    const path = join(tempDir(), "missive.db");
    const bus = keep(await missive({ service: "billing", transport: `sqlite://${path}` }));
    const consumer = bus.consume(OrderPlaced, { group: "billing", idempotency: "inbox" }, async (order, ctx) => {
      await ctx.transaction((tx) => {
        tx.prepare("CREATE TABLE IF NOT EXISTS invoices (order_id TEXT NOT NULL)").run();
        tx.prepare("INSERT INTO invoices (order_id) VALUES (?)").run(order.orderId);
      });
    });
    await consumer.ready;
    const id = uuidv7();
    await bus.publish(OrderPlaced, { orderId: "o-2", seq: 1, totalCents: 100 }, { id });
    await bus.publish(OrderPlaced, { orderId: "o-2", seq: 1, totalCents: 100 }, { id });
    await waitFor(() => consumer.stats().handled + consumer.stats().duplicates === 2, 10_000, "both deliveries settled");
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare("SELECT order_id FROM invoices").all()).toEqual([{ order_id: "o-2" }]);
    } finally {
      db.close();
    }
  });
});

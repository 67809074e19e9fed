/**
 * Publishing inside the caller's transaction on PostgreSQL: the transport's
 * `publishIn` taking a Kysely transaction (or kyselyTx(trx)), and
 * `bus.publish(…, { transaction })` with a Kysely transaction or a
 * node-postgres client. Visible to consumers at the commit, gone on rollback.
 */
import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type OutgoingMessage } from "../../src/index.js";
import { kyselyTx } from "../../src/stores/kysely/index.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import { receiveAtLeast } from "../support/receive.js";
import { waitFor } from "../support/wait.js";

interface Db {
  [table: string]: { id: string };
}

const prefixes: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const p of prefixes.splice(0)) await dropPrefix(p);
});

function kysely(): Kysely<Db> {
  const db = new Kysely<Db>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: PG_URL, max: 2 }) }) });
  cleanups.push(() => db.destroy());
  return db;
}

function message(id: string): OutgoingMessage {
  return { topic: "a", id, key: undefined, wire: { headers: { "ce-id": id }, body: Buffer.from(id) } };
}

describe("postgres transport - publish in the caller's Kysely transaction", () => {
  it("postgres publish in tx - publishIn(trx) and publishIn(kyselyTx(trx)): visible at the commit, never after a rollback", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const t: PostgresTransport = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    cleanups.push(() => t.close());
    const sub = await t.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const db = kysely();
    const orders = `${prefix}orders`;
    await sql`CREATE TABLE ${sql.table(orders)} (id text PRIMARY KEY)`.execute(db);

    await expect(
      db.transaction().execute(async (trx: Transaction<Db>) => {
        await trx.insertInto(orders).values({ id: "o-rolled-back" }).execute();
        expect(await t.publishIn(trx, [message("rolled-back")])).toEqual([undefined]);
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");

    await db.transaction().execute(async (trx: Transaction<Db>) => {
      await trx.insertInto(orders).values({ id: "o-1" }).execute();
      expect(await t.publishIn(trx, [message("raw-trx")])).toEqual([undefined]);
      expect(await t.publishIn(kyselyTx(trx), [message("executor")])).toEqual([undefined]);
      // Not visible before the commit.
      expect(await sub.receive(10, 300)).toEqual([]);
    });

    const got = await receiveAtLeast(sub, 2, 10_000);
    expect(got.map((d) => d.wire.headers["ce-id"]).sort()).toEqual(["executor", "raw-trx"]);
    expect(got.map((d) => Buffer.from(d.wire.body).toString()).sort()).toEqual(["executor", "raw-trx"]);
    expect(await sub.receive(10, 300)).toEqual([]);
    expect((await db.selectFrom(orders).select("id").execute()).map((r) => r.id)).toEqual(["o-1"]);
  });

  it("postgres publish in tx - a consumer of another transport is woken after the caller's commit (no NOTIFY in the caller's transaction), not after a rollback", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    // The consumer polls once a minute while its LISTEN is healthy: within this test only a NOTIFY wakes it.
    const consumer = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, pollMinMs: 60_000, pollMaxMs: 60_000 });
    cleanups.push(() => consumer.close());
    const publisher = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    cleanups.push(() => publisher.close());
    const sub = await consumer.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    expect(await sub.receive(10, 50)).toEqual([]);
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    cleanups.push(() => pool.end());
    const client = await pool.connect();
    const notified: string[] = [];
    const listener = new pg.Client({ connectionString: PG_URL });
    await listener.connect();
    cleanups.push(() => listener.end());
    // A plain LISTEN on the channel sees every NOTIFY, and when it comes.
    listener.on("notification", (n) => notified.push(n.payload ?? ""));
    await listener.query(`LISTEN ${publisher.tables.channel}`);
    try {
      await client.query("BEGIN");
      expect(await publisher.publishIn(client, [message("rolled-back")])).toEqual([undefined]);
      // Held open past the watcher's longest pause: it must keep looking at a transaction still in progress.
      await new Promise((r) => setTimeout(r, 200));
      await client.query("ROLLBACK");
      await new Promise((r) => setTimeout(r, 200));
      expect(notified).toEqual([]);

      await client.query("BEGIN");
      // One message on a topic no group is bound to, and one to a group that does not exist: unroutable, as with publish.
      expect(await publisher.publishIn(client, [{ ...message("nowhere"), topic: "unbound" }])).toEqual([expect.objectContaining({ code: "MISSIVE_UNROUTABLE" })]);
      expect(await publisher.publishIn(client, [{ ...message("no-group"), group: "missing" }])).toEqual([expect.objectContaining({ code: "MISSIVE_UNROUTABLE" })]);
      // Directed at the group by name: routed to it alone.
      expect(await publisher.publishIn(client, [{ ...message("directed"), topic: "elsewhere", group: "g" }])).toEqual([undefined]);
      expect(await publisher.publishIn(client, [message("committed")])).toEqual([undefined]);
      const waiting = sub.receive(10, 20_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(notified).toEqual([]);
      const committedAt = Date.now();
      await client.query("COMMIT");
      const got = await waiting;
      expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(["directed", "committed"]);
      expect(Date.now() - committedAt).toBeLessThan(5_000);
      expect(notified).toEqual(["g"]);
    } finally {
      client.release();
    }
  });

  it("postgres publish in tx - a Kysely instance outside a transaction, or anything else, is refused with a ConfigurationError", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    cleanups.push(() => t.close());
    const db = kysely();
    await expect(t.publishIn(db as unknown as Transaction<Db>, [message("x")])).rejects.toMatchObject({ code: "MISSIVE_CONFIG" });
    await expect(t.publishIn({} as unknown as pg.PoolClient, [message("x")])).rejects.toMatchObject({ code: "MISSIVE_CONFIG" });
  });

  it("postgres publish in tx - bus.publish(…, { transaction }) with a Kysely transaction and a pg client: handled after the commit, never after a rollback", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const bus = await missive({ transport: `${PG_URL}?tablePrefix=${prefix}`, service: "pg-publish-in-tx" });
    cleanups.push(() => bus.close());
    const handled: string[] = [];
    await bus.consume(OrderPlaced, { group: "billing" }, (order) => void handled.push(order.orderId)).ready;
    const db = kysely();

    await expect(
      db.transaction().execute(async (trx) => {
        await bus.publish(OrderPlaced, { orderId: "rolled-back", seq: 1, totalCents: 1 }, { transaction: trx });
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    const receipt = await db.transaction().execute(async (trx) => {
      const r = await bus.publish(OrderPlaced, { orderId: "kysely", seq: 2, totalCents: 1 }, { transaction: trx });
      // Written, not yet committed: no handler may see it.
      await new Promise((r) => setTimeout(r, 300));
      expect(handled).toEqual([]);
      return r;
    });
    expect(receipt.outcome).toBe("confirmed");

    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    cleanups.push(() => pool.end());
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await bus.publish(OrderPlaced, { orderId: "pg-rolled-back", seq: 3, totalCents: 1 }, { transaction: client });
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      await bus.publish(OrderPlaced, { orderId: "pg", seq: 4, totalCents: 1 }, { transaction: client });
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    await waitFor(() => handled.length >= 2, 10_000, "both committed messages handled");
    // A message published after both commits, through the usual path: once it is handled, the rolled-back ones had their chance.
    await bus.publish(OrderPlaced, { orderId: "marker", seq: 5, totalCents: 1 });
    await waitFor(() => handled.includes("marker"), 10_000, "the marker handled");
    expect(handled.sort()).toEqual(["kysely", "marker", "pg"]);
  });

  it("postgres publish in tx - bus.publish(…, { transaction }) on a transport that cannot is refused with a ConfigurationError", async () => {
    const bus = await missive({ transport: "memory://", service: "no-tx" });
    cleanups.push(() => bus.close());
    await expect(bus.publish(OrderPlaced, { orderId: "o", seq: 1, totalCents: 1 }, { transaction: {} })).rejects.toMatchObject({ code: "MISSIVE_CONFIG", message: expect.stringContaining("outbox") });
  });
});

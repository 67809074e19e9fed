/**
 * PostgreSQL as the broker, inside the application's own transactions:
 *
 *   1. checkout writes an order and publishes OrderPlaced in ONE Kysely
 *      transaction (`bus.publish(…, { transaction: trx })`): consumers see
 *      the message at the commit, and a rolled-back order publishes nothing.
 *      No outbox, no relay;
 *   2. billing consumes with an inbox on the transport's own pool: the charge
 *      row, the inbox row, the ack (the DELETE of the queue row) and a
 *      PaymentCaptured follow-up (`ctx.publish(…, { transaction: client })`)
 *      commit as one transaction, so a crash leaves all of them or none;
 *   3. the same order published again under its id is charged once.
 *
 * Run it: `npx tsx examples/postgres-transactions.ts` (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Its tables get a random prefix
 * and are dropped at the end.
 */
import { randomBytes } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { z } from "zod";
import { defineMessage, missive } from "missive";
import { postgresTransport } from "missive/postgres";
import { postgresInbox } from "missive/stores/postgres";

const OrderPlaced = defineMessage({
  type: "order.placed",
  schema: z.object({ orderId: z.string(), customer: z.string(), totalCents: z.number().int().nonnegative() }),
  key: (order) => order.customer,
});
const PaymentCaptured = defineMessage({ type: "payment.captured", schema: z.object({ orderId: z.string() }) });

interface Db {
  [table: string]: { id: string; customer: string; total_cents: number };
}

const prefix = `example_${randomBytes(3).toString("hex")}_`;
const tables = { orders: `${prefix}orders`, charges: `${prefix}charges` };
// One pool for everything: the application's queries, the queue, and the inbox. Because the inbox takes its
// transactions from the transport's own pool, it acks each delivery inside them.
const pool = new pg.Pool({ connectionString: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test" });
const db = new Kysely<Db>({ dialect: new PostgresDialect({ pool }) });
const transport = postgresTransport({ pool, tablePrefix: prefix });
await transport.prepareTables(); // the queue tables and the inbox table; or `missive migrate`
const inbox = postgresInbox({ pool, table: transport.tables.inbox });
const bus = await missive({ transport, service: "shop", inbox, idempotency: "inbox" });

const count = async (from: string): Promise<number> => Number((await pool.query(`SELECT count(*) AS n FROM ${from}`)).rows[0].n);
const waitUntil = async (what: string, ok: () => Promise<boolean> | boolean): Promise<void> => {
  for (const deadline = Date.now() + 20_000; !(await ok()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
};

try {
  await sql`CREATE TABLE ${sql.table(tables.orders)} (id text PRIMARY KEY, customer text NOT NULL, total_cents int NOT NULL)`.execute(db);
  await pool.query(`CREATE TABLE ${tables.charges} (order_id text NOT NULL, cents int NOT NULL)`);

  const captured: string[] = [];
  await bus.consume(PaymentCaptured, { group: "receipts" }, (payment) => void captured.push(payment.orderId)).ready;
  await bus.consume(OrderPlaced, { group: "billing" }, async (order, ctx) => {
    await ctx.transaction(async (client) => {
      await client.query(`INSERT INTO ${tables.charges} (order_id, cents) VALUES ($1, $2)`, [order.orderId, order.totalCents]);
      await ctx.publish(PaymentCaptured, { orderId: order.orderId }, { transaction: client });
    });
  }).ready;

  const placeOrder = (id: string, customer: string, totalCents: number, fails = false): Promise<void> =>
    db.transaction().execute(async (trx) => {
      await trx.insertInto(tables.orders).values({ id, customer, total_cents: totalCents }).execute();
      await bus.publish(OrderPlaced, { orderId: id, customer, totalCents }, { transaction: trx, id: `order-${id}` });
      if (fails) throw new Error("payment provider said no");
    });

  await placeOrder("o-1", "ada", 1500);
  try {
    await placeOrder("o-2", "grace", 900, true);
  } catch (err) {
    const orders = await count(`${tables.orders} WHERE id = 'o-2'`);
    const queued = await count(`${prefix}queue WHERE message_id = 'order-o-2'`);
    console.log(`order o-2 rolled back (${(err as Error).message}): ${orders === 0 && queued === 0 ? "neither the order nor its message exists" : "LEFT BEHIND"}`);
  }
  await placeOrder("o-3", "ada", 2500);

  await waitUntil("both orders charged and captured", () => captured.length === 2);
  const charged = (await pool.query<{ order_id: string }>(`SELECT order_id FROM ${tables.charges} ORDER BY order_id`)).rows.map((r) => r.order_id);
  console.log(`billing charged ${charged.join(", ")}; receipts for ${[...captured].sort().join(", ")}`);

  // The same message again (a producer that retried after a lost confirm): the inbox finds its row.
  await bus.publish(OrderPlaced, { orderId: "o-1", customer: "ada", totalCents: 1500 }, { id: "order-o-1" });
  await waitUntil("the copy settled", async () => (await count(`${prefix}queue`)) === 0);
  console.log(`o-1 delivered again with its id: charged ${await count(`${tables.charges} WHERE order_id = 'o-1'`)} time(s)`);
  console.log(`inbox rows: ${await count(`${prefix}inbox WHERE group_name = 'billing'`)}, queue rows left: ${await count(`${prefix}queue`)}`);
  console.log("postgres transactions example finished");
} finally {
  await bus.close();
  inbox.close();
  await db.destroy(); // ends the pool
  const cleanup = new pg.Client({ connectionString: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test" });
  await cleanup.connect();
  const left = await cleanup.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE tablename LIKE $1", [`${prefix.replace(/_/g, "\\_")}%`]);
  for (const { tablename } of left.rows) await cleanup.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
  const fns = await cleanup.query<{ proname: string }>("SELECT proname FROM pg_proc WHERE proname LIKE $1", [`${prefix.replace(/_/g, "\\_")}%`]);
  for (const { proname } of fns.rows) await cleanup.query(`DROP FUNCTION IF EXISTS "${proname}"() CASCADE`);
  await cleanup.end();
}

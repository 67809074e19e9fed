/**
 * The transactional outbox and inbox on PostgreSQL:
 *
 *   1. checkout writes an order and its OrderPlaced message in ONE transaction
 *      (`outbox.add(client, …)`): either both commit or neither does;
 *   2. a relay publishes committed rows through the bus's transport (here the
 *      embedded SQLite broker), in per-key order, woken by NOTIFY right after
 *      each commit, and marks them sent once the broker confirmed them;
 *   3. billing consumes with the PostgreSQL inbox: the charge and the inbox
 *      row commit together, so a message delivered twice is charged once.
 *
 * Run it: `npx tsx examples/outbox.ts` (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Its tables get a random suffix
 * and are dropped at the end.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { z } from "zod";
import { defineMessage, missive } from "missive";
import { sqliteTransport } from "missive/sqlite";
import { postgresInbox, postgresOutbox } from "missive/stores/postgres";

const OrderPlaced = defineMessage({
  type: "order.placed",
  schema: z.object({ orderId: z.string(), customer: z.string(), totalCents: z.number().int().nonnegative() }),
  key: (order) => order.customer,
});

const pool = new pg.Pool({ connectionString: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test" });
const suffix = randomBytes(3).toString("hex");
const tables = { orders: `example_orders_${suffix}`, charges: `example_charges_${suffix}`, outbox: `example_outbox_${suffix}`, inbox: `example_inbox_${suffix}` };
const dir = mkdtempSync(join(tmpdir(), "missive-outbox-example-"));

const outbox = postgresOutbox({ pool, table: tables.outbox, source: "checkout" });
const inbox = postgresInbox({ pool, table: tables.inbox });
await outbox.migrate(); // or run sql/postgres/*.sql in your own migration tool, or `missive migrate`
await inbox.migrate();
await pool.query(`CREATE TABLE ${tables.orders} (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL)`);
await pool.query(`CREATE TABLE ${tables.charges} (order_id TEXT NOT NULL, cents INTEGER NOT NULL)`);

const bus = await missive({ transport: sqliteTransport({ path: join(dir, "missive.db") }), service: "shop" });

// billing: the charge is written with the inbox's connection, inside its transaction.
const charged: string[] = [];
await bus.consume(OrderPlaced, { group: "billing", ordered: true, idempotency: inbox }, async (order, ctx) => {
  await ctx.transaction(async (client) => {
    await client.query(`INSERT INTO ${tables.charges} (order_id, cents) VALUES ($1, $2)`, [order.orderId, order.totalCents]);
  });
  charged.push(order.orderId);
}).ready;

// checkout: the order row and its message, in one transaction.
async function placeOrder(orderId: string, customer: string, totalCents: number, fail = false): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`INSERT INTO ${tables.orders} (order_id, customer, total_cents) VALUES ($1, $2, $3)`, [orderId, customer, totalCents]);
    await outbox.add(client, OrderPlaced, { orderId, customer, totalCents });
    if (fail) throw new Error("payment provider said no");
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK");
    console.log(`order ${orderId} rolled back (${(err as Error).message}): neither the order nor its message exists`);
  } finally {
    client.release();
  }
}

const relay = outbox.relay({ transport: bus.transport });
await placeOrder("o-1", "ada", 1200);
await placeOrder("o-2", "ada", 800);
await placeOrder("o-3", "grace", 4500);
await placeOrder("o-4", "grace", 99, true);
await placeOrder("o-5", "ada", 300);

await relay.drain(15_000);
while (charged.length < 4) await new Promise((r) => setTimeout(r, 20));
console.log(`relayed ${relay.stats.published} messages; billing charged ${charged.join(", ")}`);

// A message published again with the same id (what a relay does after a crash between confirm and mark):
// the inbox absorbs it.
const { rows: [first] } = await pool.query<{ message_id: string }>(`SELECT message_id FROM ${tables.outbox} ORDER BY seq LIMIT 1`);
await bus.publish(OrderPlaced, { orderId: "o-1", customer: "ada", totalCents: 1200 }, { id: first!.message_id });
await new Promise((r) => setTimeout(r, 300));
const charges = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${tables.charges} WHERE order_id = 'o-1'`);
console.log(`o-1 delivered again with its id: charged ${charges.rows[0]!.n} time(s)`);
console.log(`outbox lag: ${JSON.stringify(await relay.lag())}`);

await relay.stop();
inbox.close();
await bus.close();
for (const t of Object.values(tables)) await pool.query(`DROP TABLE IF EXISTS ${t}`);
await pool.query(`DROP FUNCTION IF EXISTS ${tables.outbox}_notify()`);
await pool.end();
rmSync(dir, { recursive: true, force: true });
console.log("outbox example finished");

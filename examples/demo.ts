/**
 * The missive demo, on the embedded SQLite default, in a temp directory:
 *
 *   1. checkout publishes orders (each resolves after a durable SQLite commit);
 *   2. billing consumes them with the inbox: the charge row, the inbox row and
 *      the ack commit in one transaction, so a redelivered order is not charged twice;
 *   3. a misbehaving producer sends bytes that are not JSON, and an order the
 *      handler refuses for good: both land in the dead-letter queue, with diagnostics.
 *
 * Run it: `npm run demo`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defineMessage, missive, PermanentError } from "missive";
import { sqliteInbox, sqliteTransport } from "missive/sqlite";

const OrderPlaced = defineMessage({
  type: "order.placed",
  version: 1,
  schema: z.object({ orderId: z.string(), customer: z.string(), totalCents: z.number().int().nonnegative() }),
  key: (order) => order.customer, // one customer's orders are charged in order
});

const dir = mkdtempSync(join(tmpdir(), "missive-demo-"));
const url = `sqlite://${join(dir, "missive.db")}`;
console.log(`missive demo: broker file ${url}\n`);

// billing: its own writes go to the same SQLite file, so they commit with the inbox row and the ack.
const billingTransport = sqliteTransport(url);
const billing = await missive({ transport: billingTransport, service: "billing" });
billingTransport.database.exec("CREATE TABLE IF NOT EXISTS charges (order_id TEXT PRIMARY KEY, customer TEXT, cents INTEGER)");

let handled = 0;
const consumer = billing.consume(
  OrderPlaced,
  { group: "billing", concurrency: 8, ordered: true, idempotency: sqliteInbox(billingTransport), retry: { delays: ["100ms", "500ms"] } },
  async (order, ctx) => {
    if (order.customer === "mallory") throw new PermanentError(`customer ${order.customer} is blocked`);
    await ctx.transaction((db) => {
      db.prepare("INSERT INTO charges (order_id, customer, cents) VALUES (?, ?, ?)").run(order.orderId, order.customer, order.totalCents);
    });
    handled++;
    console.log(`billing: charged ${order.customer} ${(order.totalCents / 100).toFixed(2)} for ${order.orderId} (attempt ${ctx.attempt})`);
  },
);
await consumer.ready;

// checkout: publishes; every publish resolves only after a durable commit.
const checkout = await missive({ transport: url, service: "checkout" });
const orders = [
  { orderId: "o-1", customer: "alice", totalCents: 15900 },
  { orderId: "o-2", customer: "bob", totalCents: 4200 },
  { orderId: "o-3", customer: "alice", totalCents: 990 },
  { orderId: "o-4", customer: "mallory", totalCents: 100 },
];
const receipts = await Promise.all(orders.map((o) => checkout.publish(OrderPlaced, o)));
console.log(`checkout: ${receipts.length} orders confirmed durable`);

// The same order again, same id (a producer retry after a lost confirm): the inbox absorbs it.
await checkout.publish(OrderPlaced, orders[0]!, { id: receipts[0]!.id });
console.log("checkout: o-1 sent a second time with the same id (a retry)");

// A misbehaving producer, bypassing contracts: bytes that are not JSON.
await checkout.transport.publish([{
  topic: OrderPlaced.type, id: "broken-1", key: undefined,
  wire: { headers: { "ce-id": "broken-1", "ce-source": "legacy-batch-job", "ce-type": OrderPlaced.type, "ce-specversion": "1.0", "content-type": "application/json" }, body: Buffer.from("{orderId: o-5,") },
}]);
console.log("legacy-batch-job: published a message that is not JSON\n");

const dlq = billing.deadLetters();
const deadline = Date.now() + 15_000;
while ((handled < 3 || (await dlq.count({ group: "billing" })) < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 300)); // let the duplicate arrive and be absorbed

const charges = billingTransport.database.prepare("SELECT order_id, customer, cents FROM charges ORDER BY order_id").all();
console.log(`\ncharges table (${charges.length} rows, o-1 once despite the duplicate):`);
console.table(charges);
console.log(`billing consumer: ${JSON.stringify(consumer.stats())}`);

console.log("\ndead-letter queue of group billing:");
for (const entry of await dlq.list({ group: "billing" })) {
  const d = entry.diagnostics;
  console.log(`- ${entry.messageId} (${entry.topic})`);
  console.log(`    reason: ${d.reason}, error: ${d.errorClass} ${d.errorCode}`);
  console.log(`    message: ${d.errorMessage}`);
  console.log(`    attempts: ${d.attempts}, first failure ${new Date(d.firstFailureAt ?? 0).toISOString()}, host ${d.host}, missive ${d.version}`);
  console.log(`    body kept as sent: ${Buffer.from(entry.wire.body).toString("utf8")}`);
}

await checkout.close();
await billing.close();
rmSync(dir, { recursive: true, force: true });

if (charges.length !== 3) {
  console.error(`demo: expected exactly 3 charges, got ${charges.length}`);
  process.exit(1);
}
console.log("\ndemo finished: 3 charges, 1 duplicate absorbed, 2 dead letters with diagnostics.");
console.log("next: `npx tsx examples/incident.ts` replays dead letters as an operator would; `npx missive --help` for the CLI.");

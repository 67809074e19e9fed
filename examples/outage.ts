/**
 * A broker outage, from the producer's side, on the embedded SQLite default:
 *
 *   1. checkout publishes orders with a spool configured (`publisher.spool`);
 *   2. the queue's database becomes unavailable (here: another connection
 *      holds its write lock, as a long migration or a stuck process would);
 *      publishes are not confirmed, the outage is noticed within
 *      `outageAfter`, and they resolve `spooled`: on disk, fsynced, in a
 *      spool file of the service's own;
 *   3. the database comes back: the spool is flushed in order, under the
 *      same message ids, and billing handles every order exactly once.
 *
 * Run it: `npx tsx examples/outage.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { defineMessage, missive } from "missive";

const OrderPlaced = defineMessage({
  type: "order.placed",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int() }),
  key: (o) => o.orderId,
});

const dir = mkdtempSync(join(tmpdir(), "missive-outage-"));
const dbPath = join(dir, "missive.db");
// A short busy timeout: a locked database fails a publish attempt quickly instead of blocking for 5 s.
const url = `sqlite://${dbPath}?busyTimeoutMs=100`;
const checkout = await missive({
  transport: url,
  service: "checkout",
  publisher: { spool: join(dir, "checkout.spool.db"), outageAfter: "1s", breaker: { cooldownMs: 200, maxCooldownMs: 1000 } },
});
checkout.onStatus((event) => {
  if (event.type === "broker") console.log(`status: broker ${event.state}${event.reason ? ` (${event.reason})` : ""}`);
  if (event.type === "spool") console.log(`status: spool ${event.state}, ${event.depth.messages} waiting`);
});
const billing = await missive({ transport: url, service: "billing" });
const billed: string[] = [];
await billing.consume(OrderPlaced, { group: "billing", ordered: true }, (order) => {
  billed.push(order.orderId);
}).ready;

// 1. All is well: confirmed by the broker.
const first = await checkout.publish(OrderPlaced, { orderId: "o-1", totalCents: 1200 });
console.log(`o-1: ${first.outcome}`);

// 2. The outage: someone else holds the database's write lock.
const blocker = new Database(dbPath);
blocker.exec("BEGIN EXCLUSIVE");
const during = await Promise.all(["o-2", "o-3", "o-4"].map((orderId) => checkout.publish(OrderPlaced, { orderId, totalCents: 990 })));
console.log(`during the outage: ${during.map((r) => r.outcome).join(", ")}; spool holds ${checkout.status().spool?.messages ?? 0}`);

// 3. It comes back: the spool flushes, in order, same ids.
blocker.exec("COMMIT");
blocker.close();
const deadline = Date.now() + 20_000;
while (billed.length < 4) {
  if (Date.now() > deadline) throw new Error(`outage example: billed only ${billed.join(", ")}`);
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`billed: ${billed.join(", ")}; spool holds ${checkout.status().spool?.messages ?? 0}; broker ${checkout.status().broker}`);

await billing.close();
await checkout.close();
rmSync(dir, { recursive: true, force: true });
console.log("outage example finished");

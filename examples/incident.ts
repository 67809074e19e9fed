/**
 * An incident, from the operator's side, on the embedded SQLite default:
 *
 *   1. a bad deploy of the shipping service throws on every order: after the
 *      attempt budget the orders are dead-lettered, with diagnostics;
 *   2. one order was also published with a typo'd postcode that the contract refuses;
 *   3. the operator reads the summary (type × error), fixes the deploy,
 *      edits the typo (the edit is validated against the contract first),
 *      and replays the rest by query; every message keeps its id, so the
 *      inbox would absorb a replay that went through twice.
 *
 * The same steps from a shell are `missive dlq summary`, `missive dlq edit`
 * and `missive dlq replay --group shipping` (see docs/cli.md).
 *
 * Run it: `npx tsx examples/incident.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defineMessage, missive, SchemaValidationError } from "missive";

const OrderPaid = defineMessage({
  type: "order.paid",
  schema: z.object({ orderId: z.string(), postcode: z.string().regex(/^[0-9]{5}$/) }),
  key: (o) => o.orderId,
});

const dir = mkdtempSync(join(tmpdir(), "missive-incident-"));
const url = `sqlite://${join(dir, "missive.db")}`;
const shop = await missive({ transport: url, service: "shop" });
const shipping = await missive({ transport: url, service: "shipping" });
const wait = async (what: string, done: () => Promise<boolean> | boolean): Promise<void> => {
  const deadline = Date.now() + 15_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`incident example: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

// 1. The bad deploy: every order fails, is retried twice, then dead-lettered.
let deployFixed = false;
const shipped: string[] = [];
await shipping.consume(OrderPaid, { group: "shipping", retry: { delays: ["50ms", "50ms"] } }, (order) => {
  if (!deployFixed) throw new TypeError("Cannot read properties of undefined (reading 'carrier')");
  shipped.push(`${order.orderId} to ${order.postcode}`);
}).ready;
for (const orderId of ["o-1", "o-2", "o-3"]) await shop.publish(OrderPaid, { orderId, postcode: "75001" });

// 2. A message with bad data, from a producer that skipped validation.
await shop.transport.publish([{
  topic: OrderPaid.type, id: "typo-1", key: "o-4",
  wire: { headers: { "ce-id": "typo-1", "ce-source": "backoffice", "ce-type": OrderPaid.type, "ce-specversion": "1.0", "ce-key": "o-4", "content-type": "application/json" }, body: Buffer.from('{"orderId":"o-4","postcode":"7500"}') },
}]);

const dlq = shipping.deadLetters();
await wait("4 dead letters", async () => (await dlq.count({ group: "shipping" })) === 4);

// 3. The operator's view.
console.log("dead letters by type × error:");
for (const row of await dlq.summary({ group: "shipping" })) {
  console.log(`  ${row.count} × ${row.topic}  ${row.errorCode} ${row.errorClass}`);
}
const [typo] = await dlq.list({ group: "shipping", errorCode: "MISSIVE_SCHEMA" });
console.log(`\n${typo!.messageId}: ${typo!.diagnostics.errorMessage} (reason ${typo!.diagnostics.reason}, attempts ${typo!.diagnostics.attempts})`);

// The fix is deployed; the typo is corrected. A wrong correction is refused and nothing moves.
deployFixed = true;
try {
  await dlq.edit(typo!.entryId, { orderId: "o-4", postcode: "75OO1" });
} catch (err) {
  if (!(err instanceof SchemaValidationError)) throw err;
  console.log(`edit refused by the contract: ${err.message}`);
}
await dlq.edit(typo!.entryId, { orderId: "o-4", postcode: "75004" });
console.log("edit accepted: o-4 replayed with postcode 75004, same message id");

const result = await dlq.replayWhere({ group: "shipping", errorClass: "TypeError" });
console.log(`replayed ${result.done} of ${result.matched} dead letters of the bad deploy`);

await wait("4 shipments", () => shipped.length === 4);
console.log(`\nshipped: ${shipped.sort().join(", ")}`);
console.log(`dead letters left: ${await dlq.count()}`);

await shop.close();
await shipping.close();
rmSync(dir, { recursive: true, force: true });
console.log("\nincident example finished: 4 shipped, 0 dead letters left.");

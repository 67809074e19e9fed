/**
 * Expiry and priority (docs/expiry-priority.md), on the memory transport:
 *
 *   1. a price quote that nobody handled within its `expiresIn` is never
 *      handled: it is dead-lettered with reason `expired`;
 *   2. a request that outlives its timeout is not handled by a consumer
 *      that starts late (requests expire at their timeout);
 *   3. a refund published with priority 9 behind a backlog of low-priority
 *      reports is handled before most of them.
 *
 * Run it: `npx tsx examples/expiry-priority.ts`.
 */
import { z } from "zod";
import { defineMessage, missive, RequestTimeoutError } from "missive";
import { createMemoryBroker } from "missive/memory";

const PriceQuote = defineMessage({
  type: "price.quote",
  schema: z.object({ sku: z.string(), cents: z.number().int() }),
  expiresIn: "1s", // a quote older than this is worthless: never act on it
});
const GetStock = defineMessage({ type: "stock.get", schema: z.object({ sku: z.string() }) });
const Stock = defineMessage({ type: "stock", schema: z.object({ units: z.number().int() }) });
const Task = defineMessage({ type: "task", schema: z.object({ name: z.string() }), priority: 1 });

const bus = await missive({ service: "shop", transport: createMemoryBroker().transport() });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// 1. A quote published while its consumer is down, consumed two seconds later.
await bus.declare(PriceQuote, "pricing");
await bus.publish(PriceQuote, { sku: "A-1", cents: 990 });
await sleep(2000);
const acted: string[] = [];
await bus.consume(PriceQuote, { group: "pricing" }, (quote) => void acted.push(quote.sku)).ready;
const dlq = bus.deadLetters();
while ((await dlq.list({ group: "pricing" })).length === 0) await sleep(10);
const [quote] = await dlq.list({ group: "pricing" });
console.log(`quote: handled ${acted.length} time(s); dead-lettered: ${quote!.diagnostics.reason} (${quote!.diagnostics.errorCode})`);

// 2. A request nobody answers in time, then a consumer that starts too late.
await bus.declare(GetStock, "stock");
const late = await bus.request(GetStock, { sku: "A-1" }, { reply: Stock, timeout: "300ms" }).catch((err: unknown) => err);
console.log(`request: ${late instanceof RequestTimeoutError ? "timed out" : "answered"}`);
await sleep(500);
let answered = 0;
await bus.consume(GetStock, { group: "stock" }, async (_req, ctx) => {
  answered++;
  await ctx.reply(Stock, { units: 3 });
}).ready;
while ((await dlq.list({ group: "stock" })).length === 0) await sleep(10);
console.log(`late request: handled ${answered} time(s); dead-lettered: ${(await dlq.list({ group: "stock" }))[0]!.diagnostics.reason}`);

// 3. A backlog of routine tasks (the contract's priority 1), then an urgent refund (priority 9).
await bus.declare(Task, "workers");
for (let i = 1; i <= 20; i++) await bus.publish(Task, { name: `report-${i}` });
await bus.publish(Task, { name: "refund" }, { priority: 9 });
const done: string[] = [];
await bus.consume(Task, { group: "workers", concurrency: 1, prefetch: 32 }, (task) => void done.push(task.name)).ready;
while (done.length < 21) await sleep(10);
console.log(`refund handled as number ${done.indexOf("refund") + 1} of 21`);

await bus.close();
console.log("expiry-priority example finished");

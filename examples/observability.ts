/**
 * Observability (docs/observability.md): missive's metrics in Prometheus, on
 * the SQLite transport.
 *
 *   1. the OpenTelemetry metrics SDK with the Prometheus exporter, registered
 *      before the bus is made;
 *   2. five invoices published while nobody consumes: the scrape shows the
 *      backlog (`missive_queue_depth`, `missive_queue_oldest_age`, in seconds), the
 *      figure an autoscaler such as KEDA scales on;
 *   3. a consumer that refuses one invoice: the next scrape shows an empty
 *      queue, one dead letter, and the dead-lettered counter.
 *
 * The exporter is mounted on the application's own HTTP server here (on a
 * loopback port of the system's choosing); `new PrometheusExporter({ port: 9464 })`
 * serves it on its own instead.
 *
 * Run it: `npx tsx examples/observability.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { metrics } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { z } from "zod";
import { defineMessage, missive, PermanentError } from "missive";
import { sqliteTransport } from "missive/sqlite";

// 1. The SDK first: missive only uses the OpenTelemetry API.
const exporter = new PrometheusExporter({ preventServerStart: true });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
const server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const scrapeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

/** The scrape's lines for `names` in the group `billing`, as Prometheus would read them. */
async function scrape(...names: string[]): Promise<string[]> {
  const text = await (await fetch(scrapeUrl)).text();
  return text.split("\n").filter((line) => names.some((n) => line.startsWith(`${n}{`)) && line.includes('messaging_consumer_group_name="billing"'));
}

const Invoice = defineMessage({ type: "invoice.issued", schema: z.object({ number: z.number().int() }) });
const dir = mkdtempSync(join(tmpdir(), "missive-observability-"));
const bus = await missive({ service: "invoicing", transport: sqliteTransport({ path: join(dir, "missive.db") }) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// 2. A backlog.
await bus.declare(Invoice, "billing");
for (let number = 1; number <= 5; number++) await bus.publish(Invoice, { number });
await sleep(100);
for (const line of await scrape("missive_queue_depth", "missive_queue_ready")) console.log(`backlog: ${line}`);
const [age] = await scrape("missive_queue_oldest_age");
console.log(`backlog: the oldest message is ${Number(age?.split(" ").at(-1)) > 0 ? "waiting" : "not reported"}`);

// 3. The backlog handled; invoice 3 refused for good.
let handled = 0;
await bus.consume(Invoice, { group: "billing" }, (invoice) => {
  if (invoice.number === 3) throw new PermanentError("invoice 3 has no customer");
  handled++;
}).ready;
while (handled < 4 || (await scrape("missive_queue_dead_letters")).length === 0) await sleep(20);
for (const line of await scrape("missive_queue_depth", "missive_queue_dead_letters", "missive_consumer_dead_lettered_messages_total")) console.log(`handled: ${line}`);

await bus.close();
await new Promise((resolve) => server.close(resolve));
rmSync(dir, { recursive: true, force: true });
console.log("observability example finished");

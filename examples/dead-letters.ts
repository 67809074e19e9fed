/**
 * Dead letters kept in a database, for a broker with no browsable
 * dead-letter store (here the memory transport with its own store switched
 * off; MQTT and Redis Streams are the real cases):
 *
 *   1. the bus is given a dead-letter table (`deadLetters:`): a message its
 *      handler refuses is written there with its diagnostics, then acked;
 *   2. an operator lists and summarises the table, fixes the cause, and
 *      replays: the message goes back to its group with the same id;
 *   3. `missive dlq … --dead-letters <db-url>` does the same from a shell.
 *
 * Run it: `npx tsx examples/dead-letters.ts` (a temp SQLite file, removed at the end).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { defineMessage, missive, PermanentError } from "missive";
import { createMemoryBroker } from "missive/memory";
import { sqliteDeadLetters } from "missive/stores/sqlite";

const InvoiceDue = defineMessage({
  type: "invoice.due",
  schema: z.object({ invoiceId: z.string(), amountCents: z.number().int() }),
  key: (invoice) => invoice.invoiceId,
});

const dir = mkdtempSync(join(tmpdir(), "missive-dead-letters-"));
const db = new Database(join(dir, "app.db"));
const deadLetters = sqliteDeadLetters({ database: db }); // postgresDeadLetters({ pool }) and mysqlDeadLetters({ pool }) work the same
deadLetters.migrate(); // or run sql/sqlite/003_dead_letters.sql, or `missive migrate --only dead-letters`

const transport = createMemoryBroker().transport({ capabilities: { nativeDeadLetter: false } });
const bus = await missive({ service: "billing", transport, deadLetters });

let mailerDown = true;
const sent: string[] = [];
await bus.consume(InvoiceDue, { group: "mailer" }, (invoice, ctx) => {
  if (mailerDown) throw new PermanentError("mail provider rejected the template");
  sent.push(`${invoice.invoiceId} (id ${ctx.message.id === firstId ? "kept" : "changed"})`);
}).ready;

const { id: firstId } = await bus.publish(InvoiceDue, { invoiceId: "inv-7", amountCents: 4200 });
while ((await deadLetters.count()) === 0) await new Promise((r) => setTimeout(r, 10));

const admin = bus.deadLetters();
for (const entry of await admin.list({ group: "mailer" })) {
  console.log(`dead letter ${entry.entryId}: ${entry.topic} ${entry.diagnostics.errorCode} "${entry.diagnostics.errorMessage}" after ${entry.diagnostics.attempts} attempt(s)`);
}
console.log(`summary: ${JSON.stringify((await admin.summary()).map((s) => [s.topic, s.errorClass, s.count]))}`);

mailerDown = false;
const replayed = await admin.replayWhere({ group: "mailer", errorCode: "MISSIVE_PERMANENT" });
while (sent.length === 0) await new Promise((r) => setTimeout(r, 10));
console.log(`replayed ${replayed.done} of ${replayed.matched}; sent ${sent.join(", ")}; left in the table: ${await deadLetters.count()}`);

await bus.close();
db.close();
rmSync(dir, { recursive: true, force: true });
console.log("dead-letters example finished");

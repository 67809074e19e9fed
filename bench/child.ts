/**
 * One bench measurement in a process of its own (see lib/child.ts): runs the
 * case named in argv[2] with the JSON parameters in argv[3] and sends back
 * `{ ok, value }` over IPC.
 */
import { bullmqLatency, bullmqThroughput } from "./cases/bullmq.js";
import { sqliteDrain, sqliteFill, sqliteLatency, sqliteMissive, sqliteRaw } from "./cases/sqlite.js";
import { outboxNaive, outboxRelay } from "./outbox-cases.js";

// Parameters come from the orchestrator, which builds them per case.
type AnyParams = Parameters<typeof sqliteRaw>[0] & Parameters<typeof sqliteDrain>[0] & Parameters<typeof sqliteLatency>[0] & Parameters<typeof bullmqThroughput>[0] & Parameters<typeof outboxRelay>[0];

const cases: Record<string, (p: AnyParams) => unknown> = {
  "sqlite-raw": sqliteRaw,
  "sqlite-missive": sqliteMissive,
  "sqlite-latency": sqliteLatency,
  "sqlite-fill": sqliteFill,
  "sqlite-drain": sqliteDrain,
  "bullmq-throughput": bullmqThroughput,
  "bullmq-latency": bullmqLatency,
  "outbox-naive": outboxNaive,
  "outbox-relay": outboxRelay,
};

const [name, json] = process.argv.slice(2);
const run = cases[name ?? ""];
let reply: { ok: boolean; value?: unknown; error?: string };
try {
  if (!run) throw new Error(`unknown bench case ${String(name)}`);
  reply = { ok: true, value: await run(JSON.parse(json ?? "{}") as AnyParams) };
} catch (err) {
  reply = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}
// Exit once the answer is out: a driver's leftover handle must not keep the child alive.
// Run by hand (no IPC, e.g. under --cpu-prof), it prints the answer instead.
if (process.send) process.send(reply, () => process.exit(0));
else {
  process.stdout.write(JSON.stringify(reply, null, 2) + "\n");
  process.exit(reply.ok ? 0 : 1);
}

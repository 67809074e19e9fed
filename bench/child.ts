/**
 * One bench measurement in a process of its own (see lib/child.ts): runs the
 * case named in argv[2] with the JSON parameters in argv[3] and sends back
 * `{ ok, value }` over IPC.
 */
import type { bullmqThroughput } from "./cases/bullmq.js";
import type { dashboardFill } from "./cases/dashboard.js";
import type { natsLatencyRaw } from "./cases/nats.js";
import type { pgLatency } from "./cases/postgres.js";
import type { pgChurn } from "./cases/postgres-churn.js";
import type { pgNotifyPublish } from "./cases/postgres-notify.js";
import type { pgTxPublish } from "./cases/postgres-tx.js";
import type { rabbitRaw } from "./cases/rabbitmq.js";
import type { redisLatencyMissive, redisRaw } from "./cases/redis.js";
import type { sqliteDrain, sqliteLatency, sqliteRaw } from "./cases/sqlite.js";
import type { spoolPublish } from "./cases/spool.js";
import type { outboxRelay } from "./outbox-cases.js";

// Parameters come from the orchestrator, which builds them per case.
type AnyParams = Parameters<typeof sqliteRaw>[0] & Parameters<typeof sqliteDrain>[0] & Parameters<typeof sqliteLatency>[0] & Parameters<typeof bullmqThroughput>[0] & Parameters<typeof outboxRelay>[0] & Parameters<typeof rabbitRaw>[0] & Parameters<typeof spoolPublish>[0] & Parameters<typeof natsLatencyRaw>[0] & Parameters<typeof pgLatency>[0] & Parameters<typeof pgTxPublish>[0] & Parameters<typeof redisRaw>[0] & Parameters<typeof redisLatencyMissive>[0] & Parameters<typeof pgNotifyPublish>[0] & Parameters<typeof dashboardFill>[0] & Parameters<typeof pgChurn>[0];
type Case = (p: AnyParams) => unknown;

// Loaded on demand: a case's child loads only its own broker client, so one that is missing or
// broken (an optional peer dependency, a transport mid-change) cannot take the other cases down.
const cases: Record<string, () => Promise<Case>> = {
  "sqlite-raw": async () => (await import("./cases/sqlite.js")).sqliteRaw,
  "sqlite-missive": async () => (await import("./cases/sqlite.js")).sqliteMissive,
  "sqlite-latency": async () => (await import("./cases/sqlite.js")).sqliteLatency,
  "sqlite-fill": async () => (await import("./cases/sqlite.js")).sqliteFill,
  "sqlite-drain": async () => (await import("./cases/sqlite.js")).sqliteDrain,
  "bullmq-throughput": async () => (await import("./cases/bullmq.js")).bullmqThroughput,
  "bullmq-latency": async () => (await import("./cases/bullmq.js")).bullmqLatency,
  "outbox-naive": async () => (await import("./outbox-cases.js")).outboxNaive,
  "outbox-relay": async () => (await import("./outbox-cases.js")).outboxRelay,
  "rabbitmq-raw": async () => (await import("./cases/rabbitmq.js")).rabbitRaw,
  "rabbitmq-missive": async () => (await import("./cases/rabbitmq.js")).rabbitMissive,
  "rascal-throughput": async () => (await import("./cases/rascal.js")).rascalThroughput,
  "rabbitmq-fill": async () => (await import("./cases/rabbitmq.js")).rabbitFill,
  "rabbitmq-drain": async () => (await import("./cases/rabbitmq.js")).rabbitDrain,
  "spool-publish": async () => (await import("./cases/spool.js")).spoolPublish,
  "spool-flush": async () => (await import("./cases/spool.js")).spoolFlush,
  "nats-raw": async () => (await import("./cases/nats.js")).natsRaw,
  "nats-missive": async () => (await import("./cases/nats.js")).natsMissive,
  "nats-latency-raw": async () => (await import("./cases/nats.js")).natsLatencyRaw,
  "nats-latency-missive": async () => (await import("./cases/nats.js")).natsLatencyMissive,
  "nats-fill": async () => (await import("./cases/nats.js")).natsFill,
  "nats-drain": async () => (await import("./cases/nats.js")).natsDrain,
  "postgres-raw": async () => (await import("./cases/postgres.js")).pgRaw,
  "postgres-missive": async () => (await import("./cases/postgres.js")).pgMissive,
  "pgboss-throughput": async () => (await import("./cases/postgres.js")).pgBossThroughput,
  "postgres-latency": async () => (await import("./cases/postgres.js")).pgLatency,
  "pgboss-latency": async () => (await import("./cases/postgres.js")).pgBossLatency,
  "bullmq-pg-throughput": async () => (await import("./cases/bullmq-postgres.js")).bullmqPgThroughput,
  "bullmq-pg-latency": async () => (await import("./cases/bullmq-postgres.js")).bullmqPgLatency,
  "postgres-fill": async () => (await import("./cases/postgres.js")).pgFill,
  "postgres-drain": async () => (await import("./cases/postgres.js")).pgDrain,
  "postgres-tx": async () => (await import("./cases/postgres-tx.js")).pgTxPublish,
  "redis-raw": async () => (await import("./cases/redis.js")).redisRaw,
  "redis-missive": async () => (await import("./cases/redis.js")).redisMissive,
  "redis-latency": async () => (await import("./cases/redis.js")).redisLatencyMissive,
  "redis-latency-raw": async () => (await import("./cases/redis.js")).redisLatencyRaw,
  "redis-fill": async () => (await import("./cases/redis.js")).redisFill,
  "redis-drain": async () => (await import("./cases/redis.js")).redisDrain,
  "postgres-churn": async () => (await import("./cases/postgres-churn.js")).pgChurn,
  "postgres-notify": async () => (await import("./cases/postgres-notify.js")).pgNotifyPublish,
  "dashboard-fill": async () => (await import("./cases/dashboard.js")).dashboardFill,
  "dashboard-serve": async () => (await import("./cases/dashboard.js")).dashboardServe,
};

const [name, json] = process.argv.slice(2);
const load = cases[name ?? ""];
let reply: { ok: boolean; value?: unknown; error?: string };
try {
  if (!load) throw new Error(`unknown bench case ${String(name)}`);
  const run = await load();
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

/**
 * `npm run bench`: missive against the raw client doing the same durable
 * work and against a well-known peer, in the same run, on this machine.
 * Prints a table (msgs/s, ratios, p50/p99 publish→handler latency at a fixed
 * rate, peak RSS) and writes bench/results/latest.json (the run, then one row
 * per case), then docs/performance.md from it.
 *
 *   npm run bench -- [--messages 50000] [--runs 3] [--backlog 100000]
 *                    [--rate 2000] [--seconds 5] [--quick] [--no-peer] [--no-durable-peer] [--out PATH]
 *                    [--only sqlite,rabbitmq,nats,postgres,redis,dashboard]
 *
 * Every measurement runs in a child process of its own (bench/child.ts).
 * Throughput cases run in rounds: raw, missive and the peer back to back,
 * so each round's ratios compare figures taken under the same machine load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, type BenchTransport } from "./lib/args.js";
import { writeResults, type Row } from "./lib/results.js";
import { formatTable } from "./lib/table.js";
import { warmupSeconds } from "./lib/latency.js";
import { DEFAULT_RESULTS, syncPerformanceDoc } from "./lib/performance-doc.js";
import { partRunner } from "./lib/parts.js";
import { collectRunInfo, finishRunInfo, type BenchFailure } from "./lib/run-info.js";
import { dashboardRows } from "./dashboard-run.js";
import { natsRows } from "./nats-run.js";
import { outboxRabbitmqRows, outboxRows } from "./outbox-run.js";
import { postgresRows } from "./postgres-run.js";
import { rabbitmqRows } from "./rabbitmq-run.js";
import { redisRows } from "./redis-run.js";
import { spoolRows } from "./spool-run.js";
import { sqliteRows } from "./sqlite-run.js";

const cfg = parseArgs(process.argv.slice(2));
// The tree as the run starts: the code its child processes load and measure.
const startInfo = collectRunInfo(process.argv.slice(2));
const log = (line: string): void => void process.stdout.write(line + "\n");
const caseTimeoutMs = cfg.quick ? 60_000 : 300_000;
const want = (transport: BenchTransport): boolean => cfg.only.has(transport);

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "missive-bench-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

log(
  `missive bench (${[...cfg.only].join(", ")}): ${cfg.messages} messages per throughput case, ${cfg.runs} round(s); ` +
    `latency at ${cfg.rate} msg/s for ${cfg.seconds} s after a ${warmupSeconds(cfg.seconds)} s warm-up; drain of ${cfg.backlog}`,
);

const rows: Row[] = [];
const summary: string[] = [];
const failures: BenchFailure[] = [];

const part = partRunner(rows, summary, failures, log);
const only = (rows: readonly Row[]): { rows: readonly Row[] } => ({ rows });

if (want("sqlite")) {
  await part("sqlite", () => sqliteRows(cfg, inTempDir, log, caseTimeoutMs));
  log("outbox vs insert-then-publish…");
  await part("outbox (SQLite)", async () => only(await outboxRows(cfg, inTempDir, log, caseTimeoutMs)));
}
if (want("rabbitmq")) {
  log("outbox to RabbitMQ vs insert-then-publish…");
  await part("outbox (RabbitMQ)", async () => only(await outboxRabbitmqRows(cfg, inTempDir, log, caseTimeoutMs)));
  log("rabbitmq: missive vs amqplib vs rascal…");
  await part("rabbitmq", () => rabbitmqRows(cfg, log, caseTimeoutMs));
}
const spoolBrokers = (["sqlite", "rabbitmq"] as const).filter(want);
if (spoolBrokers.length > 0) {
  log("publish spool: with vs without (broker healthy), spooling, flush after an outage…");
  await part("publish spool", async () => only(await spoolRows(cfg, inTempDir, log, caseTimeoutMs, spoolBrokers)));
}
if (want("nats")) {
  log("nats: missive vs the raw @nats-io client…");
  await part("nats", () => natsRows(cfg, log, caseTimeoutMs));
}
if (want("postgres")) {
  log("postgres: missive vs raw pg vs pg-boss vs BullMQ (PostgreSQL)…");
  await part("postgres", () => postgresRows(cfg, log, caseTimeoutMs));
}
if (want("redis")) {
  log("redis: missive vs raw ioredis vs BullMQ, on the shared server and on one with appendfsync always…");
  await part("redis", () => redisRows(cfg, log, caseTimeoutMs));
}
if (want("dashboard")) {
  log("dashboard: a large SQLite dead-letter store…");
  await part("dashboard", async () => only(await dashboardRows(cfg, inTempDir, log, caseTimeoutMs)));
}

log("\n" + formatTable(rows));
log(summary.map((line) => `\n${line}`).join(""));
writeResults(cfg.out, rows, finishRunInfo(startInfo, failures));
log(`written to ${cfg.out}`);
// docs/performance.md follows the committed results only: a run written elsewhere (--out, the smoke test) leaves it alone.
if (resolve(cfg.out) === DEFAULT_RESULTS) {
  syncPerformanceDoc();
  log("docs/performance.md written from it");
}
if (failures.length > 0) {
  log(`\n${failures.length} part(s) of the run failed, their rows are missing: ${failures.map((f) => f.part).join(", ")}`);
  process.exitCode = 1;
}

/**
 * The publish-spool rows of `npm run bench` (issue 7), on the SQLite
 * transport and on RabbitMQ:
 *
 * - publish with `publisher.spool` against the same publish without it, the
 *   broker healthy, unkeyed and keyed: alternating children (without, with,
 *   without, with …), the ratio taken within each round (target ≥ 0.95), and
 *   every receipt's outcome counted (none should be `spooled`);
 * - the spool filling while the broker is unreachable (msgs/s), then its
 *   flush to the broker once it is back (msgs/s, peak RSS), the group's queue
 *   checked to hold every message.
 *
 * The RabbitMQ rows run in a vhost of their own, deleted at the end whatever
 * happens (also on SIGINT/SIGTERM); when the broker is unreachable they are
 * skipped and said so. Run alone: `npx tsx bench/spool-run.ts [--quick]
 * [--messages N] [--runs N] [--out PATH]` prints the same rows (and writes
 * them only with --out).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createVhost, rabbitmqMissing, type TestVhost } from "../test/support/rabbitmq.js";
import type { SpoolBenchParams, SpoolFlushResult, SpoolPublishResult } from "./cases/spool.js";
import { parseArgs } from "./lib/args.js";
import { runChild } from "./lib/child.js";
import { emptyRow, median, ratios, roundInt, writeResults, type Row } from "./lib/results.js";
import { collectRunInfo, finishRunInfo } from "./lib/run-info.js";
import { formatTable } from "./lib/table.js";

export interface SpoolBenchConfig {
  readonly messages: number;
  readonly runs: number;
  /** Concurrent publishers on SQLite (RabbitMQ: RABBIT_PUBLISHERS, as its publish rows). */
  readonly publishers: number;
}

type InTempDir = <T>(fn: (dir: string) => Promise<T>) => Promise<T>;
type Broker = SpoolBenchParams["broker"];

/** Ordering keys of the keyed variant (round robin over the messages). */
const KEYS = 256;
/** RabbitMQ's concurrent publishers: its publish rows' window of 1000 confirms. */
const RABBIT_PUBLISHERS = 1000;
/** The healthy-broker target of issue 7: with the spool ≥ 0.95 × without. */
const TARGET = 0.95;
const UNKEYED = { name: "unkeyed", keys: 0 } as const;
const KEYED = { name: `${KEYS} keys`, keys: KEYS } as const;
/**
 * The healthy-broker comparison runs keyed and unkeyed on SQLite (keys pick
 * the transport's lanes, and the spool's per-key check is the same code on
 * every transport); on RabbitMQ, where a key is only a header, unkeyed, as
 * its publish rows, which keeps the whole spool bench near a minute and a half.
 * The flush runs both everywhere: the spool indexes keys, so keyed rows cost it more.
 */
const HEALTHY_VARIANTS = { sqlite: [UNKEYED, KEYED], rabbitmq: [UNKEYED] } as const;
const FLUSH_VARIANTS = [UNKEYED, KEYED] as const;

/** The spool rows of `brokers` (both by default: `npm run bench --only` picks). */
export async function spoolRows(cfg: SpoolBenchConfig, inTempDir: InTempDir, log: (line: string) => void, timeoutMs: number, brokers: readonly Broker[] = ["sqlite", "rabbitmq"]): Promise<Row[]> {
  const rows = brokers.includes("sqlite") ? await measure("sqlite", undefined, cfg, inTempDir, log, timeoutMs) : [];
  if (!brokers.includes("rabbitmq")) return rows;
  const missing = await rabbitmqMissing();
  if (missing) {
    log(`RabbitMQ spool cases skipped: ${missing}`);
    return rows;
  }
  let vhost: TestVhost;
  try {
    vhost = await createVhost("bench-spool");
  } catch (err) {
    log(`RabbitMQ spool cases skipped: cannot create a vhost (${err instanceof Error ? err.message : String(err)})`);
    return rows;
  }
  // An interrupted run must not leave its queues on the shared broker.
  const onSignal = (signal: NodeJS.Signals): void => void vhost.remove().finally(() => process.kill(process.pid, signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return [...rows, ...(await measure("rabbitmq", vhost.url, cfg, inTempDir, log, timeoutMs))];
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await vhost.remove();
  }
}

async function measure(broker: Broker, url: string | undefined, cfg: SpoolBenchConfig, inTempDir: InTempDir, log: (line: string) => void, timeoutMs: number): Promise<Row[]> {
  const publishers = broker === "rabbitmq" ? RABBIT_PUBLISHERS : cfg.publishers;
  // A queue per case and round on RabbitMQ, so no case publishes into another's backlog.
  const params = (group: string, keys: number): SpoolBenchParams => ({ broker, ...(url === undefined ? {} : { url }), group, messages: cfg.messages, publishers, keys, dir: "" });
  const rows: Row[] = [];
  const flushes: Array<{ name: string; keys: number; result: SpoolFlushResult }> = [];
  for (const variant of HEALTHY_VARIANTS[broker]) {
    const without: SpoolPublishResult[] = [];
    const withSpool: SpoolPublishResult[] = [];
    for (let round = 1; round <= cfg.runs; round++) {
      const p = (side: string): SpoolBenchParams => params(`spool-${variant.keys}-${side}-r${round}`, variant.keys);
      without.push(await inTempDir((dir) => runChild<SpoolPublishResult>("spool-publish", { ...p("off"), dir, spool: false }, timeoutMs)));
      withSpool.push(await inTempDir((dir) => runChild<SpoolPublishResult>("spool-publish", { ...p("on"), dir, spool: true }, timeoutMs)));
      const [a, b] = [without[round - 1]!, withSpool[round - 1]!];
      log(
        `${broker} spool ${variant.name} round ${round}: publish with spool ${b.perS} without ${a.perS} msg/s (${(b.perS / a.perS).toFixed(2)}); ` +
          `CPU ${b.cpuUsPerMsg} vs ${a.cpuUsPerMsg} µs/msg; spooled receipts ${b.spooled}`,
      );
    }
    rows.push(publishRow(broker, variant.name, publishers, without, withSpool));
  }
  for (const variant of FLUSH_VARIANTS) {
    log(`${broker} spool ${variant.name}: ${cfg.messages} publishes to an unreachable broker, then the flush…`);
    const result = await inTempDir((dir) => runChild<SpoolFlushResult>("spool-flush", { ...params(`spool-flush-${variant.keys}`, variant.keys), dir }, timeoutMs));
    log(
      `${broker} spool ${variant.name}: spooling ${result.spoolPerS} msg/s (${result.spooled} spooled); flush ${result.flushPerS} msg/s ` +
        `(${result.recoveryPerS} msg/s counting ${result.probeWaitMs} ms to the first confirm); queue holds ${result.queueDepth} of ${result.depthBefore}`,
    );
    flushes.push({ ...variant, result });
  }
  for (const f of flushes) rows.push(spoolingRow(broker, f.name, publishers, cfg.messages, f.result));
  for (const f of flushes) rows.push(flushRow(broker, f.name, f.result));
  return rows;
}

function publishRow(broker: Broker, variant: string, publishers: number, without: SpoolPublishResult[], withSpool: SpoolPublishResult[]): Row {
  const r = emptyRow(broker, `publish, spool enabled vs disabled, broker healthy (${variant}, ${publishers} concurrent publishers)`);
  const w = withSpool.map((x) => x.perS);
  const o = without.map((x) => x.perS);
  r.msgs_per_s = roundInt(median(w));
  r.raw_msgs_per_s = roundInt(median(o));
  const cw = withSpool.map((x) => x.cpuUsPerMsg);
  const co = without.map((x) => x.cpuUsPerMsg);
  r.runs = { msgs_per_s: w, raw_msgs_per_s: o, ratio: ratios(w, o), cpu_us_per_msg: cw, without_cpu_us_per_msg: co, cpu_ratio: ratios(cw, co), spooled_receipts: withSpool.map((x) => x.spooled) };
  r.ratio = median(r.runs["ratio"]!);
  r.rss_mb = Math.max(...withSpool.map((x) => x.rssMb));
  r.notes = {
    baseline: "raw_msgs_per_s is the same publish without publisher.spool; the ratio is with ÷ without within each round",
    target_ratio: TARGET,
    meets_target: r.ratio !== null && r.ratio >= TARGET,
    // With a healthy broker every receipt should be "confirmed".
    spooled_receipts: withSpool.reduce((n, x) => n + x.spooled, 0),
    // CPU per message, with ÷ without: steadier than rates on a shared machine whose fsyncs vary.
    cpu_us_per_msg: median(cw),
    without_cpu_us_per_msg: median(co),
    cpu_ratio: median(r.runs["cpu_ratio"]!),
    without_rss_mb: Math.max(...without.map((x) => x.rssMb)),
  };
  return r;
}

function spoolingRow(broker: Broker, variant: string, publishers: number, messages: number, f: SpoolFlushResult): Row {
  const r = emptyRow(broker, `spool while the broker is unreachable (${variant}, ${messages} publishes, ${publishers} concurrent publishers)`);
  r.msgs_per_s = f.spoolPerS;
  r.rss_mb = f.spoolRssMb;
  r.notes = { spooled_receipts: f.spooled, outage: "the transport's publish rejects with ConnectionError" };
  return r;
}

function flushRow(broker: Broker, variant: string, f: SpoolFlushResult): Row {
  const r = emptyRow(broker, `flush after an outage (${variant}, ${f.depthBefore} spooled messages)`);
  r.msgs_per_s = f.flushPerS;
  r.rss_mb = f.flushRssMb;
  r.notes = {
    msgs_per_s: "first flush confirm (the probe closing the breaker) → bus.status().spool.messages 0",
    from_recovery_msgs_per_s: f.recoveryPerS,
    probe_wait_ms: f.probeWaitMs,
    queue_depth_after_flush: f.queueDepth,
    all_arrived: f.queueDepth === f.depthBefore,
  };
  return r;
}

// Run alone (not imported by bench/run.ts).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cfg = parseArgs(process.argv.slice(2));
  const startInfo = collectRunInfo(process.argv.slice(2));
  const log = (line: string): void => void process.stdout.write(line + "\n");
  const inTempDir: InTempDir = async (fn) => {
    const dir = mkdtempSync(join(tmpdir(), "missive-bench-"));
    try {
      return await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  log(`missive spool bench: ${cfg.messages} messages per case, ${cfg.runs} round(s)`);
  const rows = await spoolRows(cfg, inTempDir, log, cfg.quick ? 60_000 : 300_000);
  log("\n" + formatTable(rows));
  if (process.argv.includes("--out")) {
    writeResults(cfg.out, rows, finishRunInfo(startInfo, []));
    log(`written to ${cfg.out}`);
  }
}

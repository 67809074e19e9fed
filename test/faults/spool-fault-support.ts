/**
 * What the spool fault tests share (rabbitmq-spool-*, sqlite-spool-*): the
 * spool producer process (test/fixtures/spool-producer.ts) driven over IPC,
 * with every publish outcome and status event it reports kept in order; the
 * SQLite lock holder (test/fixtures/sqlite-locker.ts); the read-back of what
 * reached the group (a RabbitMQ consumer, or the SQLite queue table); and
 * the counts every test prints: outcomes into the checker, and per-key order
 * among first deliveries (a key's seq rises in publish call order).
 */
import type { ChildProcess } from "node:child_process";
import Database from "better-sqlite3";
import type { Bus, ProducerStatus, StatusEvent } from "../../src/index.js";
import type { RabbitmqTransportOptions } from "../../src/transports/rabbitmq/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { PublishOutcome, PublishRun, SpoolProducerArgs, SpoolProducerCommand, SpoolProducerMessage } from "../fixtures/spool-producer.js";
import type { SqliteLockerCommand, SqliteLockerMessage } from "../fixtures/sqlite-locker.js";
import type { Checker } from "../support/checker.js";
import { exited, forkFixture, nextMessage } from "../support/fixture-process.js";
import { sleep } from "../support/wait.js";

/** The group every spool fault test binds (the same name as the other fault tests). */
export const GROUP = "billing";

/** Outage bound of every spool fault test: publisher.outageAfter. */
export const OUTAGE_AFTER_MS = 1000;

/** Publisher options of the spool producer, with the test's spool; `spool` fields and `extra` options override. */
export function spoolPublisher(
  path: string,
  spool: { maxMessages?: number; whenFull?: "wait" | "reject"; flushBatch?: number } = {},
  extra: Partial<SpoolProducerArgs["publisher"]> = {},
): SpoolProducerArgs["publisher"] {
  return {
    spool: { path, ...spool },
    outageAfter: OUTAGE_AFTER_MS,
    timeout: "60s",
    retryBase: "20ms",
    retryMax: "500ms",
    breaker: { cooldownMs: 200, maxCooldownMs: 1000 },
    ...extra,
  };
}

/**
 * The spool producer's RabbitMQ options: a dead connection is noticed within
 * about 2 s (heartbeat 1 s), a batch gives up after 2 s unconfirmed, and a
 * connection attempt into a blackhole after 2 s; reconnects are quick.
 */
export function rabbitmqChild(url: string): RabbitmqTransportOptions {
  return { url, heartbeatSeconds: 1, confirmTimeoutMs: 2000, connectTimeoutMs: 2000, reconnectBaseMs: 50, reconnectMaxMs: 500 };
}

export interface SpoolProducer {
  readonly child: ChildProcess;
  /** Every outcome reported so far, in report order. */
  readonly outcomes: PublishOutcome[];
  /** Every status event, in order, with the producer's timestamps. */
  readonly events: StatusEvent[];
  /** Publish a run; resolves with its tallies once every publish of it settled. */
  publish(run: PublishRun, timeoutMs: number): Promise<{ confirmed: number; spooled: number; rejected: number }>;
  status(): Promise<ProducerStatus>;
  /** Polls `bus.status()` until the spool is empty and the broker up; the last status. */
  drained(timeoutMs: number): Promise<ProducerStatus>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

export async function startSpoolProducer(args: SpoolProducerArgs): Promise<SpoolProducer> {
  const child = forkFixture("spool-producer", [JSON.stringify(args)]);
  const outcomes: PublishOutcome[] = [];
  const events: StatusEvent[] = [];
  child.on("message", (m: SpoolProducerMessage) => {
    if ("outcomes" in m) outcomes.push(...m.outcomes);
    else if ("event" in m) events.push(m.event);
  });
  await nextMessage(child, (m: SpoolProducerMessage) => "ready" in m, 30_000, "spool producer ready");
  const command = (c: SpoolProducerCommand): void => void child.send(c);
  let tags = 0;
  const status = async (): Promise<ProducerStatus> => {
    const tag = ++tags;
    const answer = nextMessage(child, (m: SpoolProducerMessage) => "status" in m && m.tag === tag, 10_000, "the producer's status");
    command({ status: tag });
    return ((await answer) as { status: ProducerStatus }).status;
  };
  return {
    child,
    outcomes,
    events,
    async publish(run, timeoutMs) {
      const done = nextMessage(child, (m: SpoolProducerMessage) => "published" in m, timeoutMs, `${run.count} publishes settled`);
      command({ publish: run });
      return ((await done) as { published: { confirmed: number; spooled: number; rejected: number } }).published;
    },
    status,
    async drained(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await status();
        if (s.broker === "up" && s.spool?.messages === 0) return s;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the spool to drain: ${JSON.stringify(s)}`);
        await sleep(200);
      }
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}

export interface SqliteLocker {
  /** Take the write lock; resolves with the Unix ms it was held from (at the latest). */
  lock(): Promise<number>;
  /** Commit: the lock is gone; the Unix ms. */
  release(): Promise<number>;
}

/** A process that holds the SQLite file's write lock when told. */
export async function startLocker(path: string): Promise<SqliteLocker> {
  const child = forkFixture("sqlite-locker", [JSON.stringify({ path })]);
  await nextMessage(child, (m: SqliteLockerMessage) => "ready" in m, 30_000, "locker ready");
  const ask = async <K extends "locked" | "released">(c: SqliteLockerCommand, answer: K): Promise<number> => {
    const reply = nextMessage(child, (m: SqliteLockerMessage) => answer in m, 20_000, `locker ${answer}`);
    child.send(c);
    return ((await reply) as Record<K, number>)[answer];
  };
  return { lock: () => ask({ lock: true }, "locked"), release: () => ask({ release: true }, "released") };
}

export interface Tally {
  readonly confirmed: number;
  readonly spooled: number;
  readonly rejected: number;
  /** Rejections by `name/code`. */
  readonly errors: Record<string, number>;
}

export function tally(outcomes: readonly PublishOutcome[]): Tally {
  const errors: Record<string, number> = {};
  let confirmed = 0;
  let spooled = 0;
  let rejected = 0;
  for (const o of outcomes) {
    if (o.result === "confirmed") confirmed++;
    else if (o.result === "spooled") spooled++;
    else {
      rejected++;
      const what = `${o.name ?? "Error"}/${o.code ?? "-"}`;
      errors[what] = (errors[what] ?? 0) + 1;
    }
  }
  return { confirmed, spooled, rejected, errors };
}

/** Outcomes into the checker: confirmed and spooled are both promises to deliver; rejected ones must never arrive. */
export function recordOutcomes(checker: Checker, outcomes: readonly PublishOutcome[]): void {
  for (const o of outcomes) {
    if (o.result === "rejected") checker.rejected(o.id, `${o.name}: ${o.message}`);
    else checker.confirmed(o.id);
  }
}

export interface Delivered {
  readonly id: string;
  readonly key: string;
  readonly seq: number;
}

export interface DeliveryCounts {
  /** Deliveries in all, duplicates included. */
  readonly deliveries: number;
  readonly distinct: number;
  /** Deliveries beyond the first of their id. */
  readonly duplicates: number;
  /** First deliveries of a key that came after a first delivery of a later seq of that key. */
  readonly orderViolations: number;
  readonly violationSamples: string[];
}

/** Counts of a delivery sequence (each key's deliveries in the order its consumer or queue had them); handled ids go into the checker. */
export function countDeliveries(delivered: readonly Delivered[], checker: Checker): DeliveryCounts {
  const seen = new Set<string>();
  const highest = new Map<string, number>();
  const violationSamples: string[] = [];
  let orderViolations = 0;
  for (const d of delivered) {
    checker.handled(d.id);
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    const top = highest.get(d.key);
    if (top !== undefined && d.seq < top) {
      orderViolations++;
      if (violationSamples.length < 5) violationSamples.push(`${d.key}: seq ${d.seq} after ${top}`);
    }
    highest.set(d.key, Math.max(top ?? d.seq, d.seq));
  }
  return { deliveries: delivered.length, distinct: seen.size, duplicates: delivered.length - seen.size, orderViolations, violationSamples };
}

/**
 * An ordered consumer of the group on `bus`, without an inbox (so duplicates
 * show): a key's deliveries are recorded in the order the queue gave them.
 * Resolves once every id in `expected` arrived (or `timeoutMs` passed), then
 * keeps listening `settleMs` more for duplicates and strays.
 */
export async function consumeAll(bus: Bus, expected: ReadonlySet<string>, timeoutMs: number, settleMs = 1000): Promise<Delivered[]> {
  const delivered: Delivered[] = [];
  const missing = new Set(expected);
  await bus.consume(OrderPlaced, { group: GROUP, ordered: true, concurrency: 16, idempotency: "none" }, (order, ctx) => {
    delivered.push({ id: ctx.message.id, key: order.orderId, seq: order.seq });
    missing.delete(ctx.message.id);
  }).ready;
  const deadline = Date.now() + timeoutMs;
  while (missing.size > 0 && Date.now() < deadline) await sleep(100);
  await sleep(settleMs);
  return delivered;
}

/** The group's rows in the SQLite queue, in queue order (nothing consumes them in these tests); seq from the publish outcomes. */
export function sqliteQueue(path: string, outcomes: readonly PublishOutcome[]): Delivered[] {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT message_id, key FROM missive_queue WHERE group_name = ? ORDER BY seq").all(GROUP) as Array<{ message_id: string; key: string | null }>;
    return rows.map((r) => ({ id: r.message_id, key: r.key ?? "", seq: byId.get(r.message_id)?.seq ?? -1 }));
  } finally {
    db.close();
  }
}

/** The first `broker: down` event at or after `since`, and any before it. */
export function downEvents(events: readonly StatusEvent[], since: number): { first: number | undefined; before: number; all: number } {
  const downs = events.filter((e) => e.type === "broker" && e.state === "down");
  return { first: downs.find((e) => e.at >= since)?.at, before: downs.filter((e) => e.at < since).length, all: downs.length };
}

/** How long the broker was down in all, by the `broker: up` events (downForMs). */
export function downMs(events: readonly StatusEvent[]): number {
  return events.reduce((sum, e) => sum + (e.type === "broker" && e.state === "up" ? (e.downForMs ?? 0) : 0), 0);
}

/** A short text of status events for the log: `broker:down@+1003ms`, relative to `t0`. */
export function eventLine(events: readonly StatusEvent[], t0: number): string {
  return events.filter((e) => e.type !== "breaker").map((e) => `${e.type}:${"state" in e ? e.state : ""}@${e.at - t0 >= 0 ? "+" : ""}${e.at - t0}ms`).join(",");
}

/**
 * The spool fault scenarios of issue 7, written once and run on each world
 * (spool-fault-worlds.ts): a producer restarted across an outage, a full
 * spool that rejects or waits, a burst bigger than the spool, and a publish
 * stream through a silent outage. Each prints its counts on one `[fault]`
 * line and asserts what the contract promises: nothing confirmed or spooled
 * is lost, nothing rejected arrives, each key keeps its publish order.
 */
import { expect } from "vitest";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import type { PublishOutcome } from "../fixtures/spool-producer.js";
import { createChecker, type Checker, type CheckResult } from "../support/checker.js";
import { sleep, waitFor } from "../support/wait.js";
import {
  countDeliveries, downEvents, eventLine, OUTAGE_AFTER_MS, recordOutcomes, startSpoolProducer, tally,
  type Delivered, type DeliveryCounts, type Tally,
} from "./spool-fault-support.js";
import type { SpoolFaultWorld } from "./spool-fault-worlds.js";

/** How far past outageAfter noticing an outage (and the slowest settle during it) may be. */
const SLACK_MS = 2000;

export interface RunReport {
  readonly t: Tally;
  readonly counts: DeliveryCounts;
  readonly r: CheckResult;
  /** The counts every `[fault]` line carries. */
  readonly line: string;
}

/** Outcomes and deliveries into the checker, and the counts of the run. */
export function runReport(checker: Checker, outcomes: readonly PublishOutcome[], delivered: readonly Delivered[]): RunReport {
  recordOutcomes(checker, outcomes);
  const counts = countDeliveries(delivered, checker);
  const r = checker.check();
  const t = tally(outcomes);
  const line = `confirmed=${t.confirmed} spooled=${t.spooled} rejected=${t.rejected} errors=${JSON.stringify(t.errors)} delivered_distinct=${counts.distinct} deliveries=${counts.deliveries} duplicates=${counts.duplicates} lost=${r.lost.length} rejected_and_delivered=${r.rejectedButDelivered.length} order_violations=${counts.orderViolations} ${counts.violationSamples.join("; ")} ${checker.summary()}`;
  return { t, counts, r, line };
}

/** The contract, whatever the fault: nothing promised lost, nothing rejected delivered, no stray, each key in order. */
export function expectKept(report: RunReport): void {
  expect(report.r.lost).toEqual([]);
  expect(report.r.rejectedButDelivered).toEqual([]);
  expect(report.r.unexpected).toEqual([]);
  expect(report.counts.violationSamples).toEqual([]);
  expect(report.counts.orderViolations).toBe(0);
}

function seconds(started: number): string {
  return `seconds=${((Date.now() - started) / 1000).toFixed(1)}`;
}

function promisedIds(outcomes: readonly PublishOutcome[]): Set<string> {
  return new Set(outcomes.filter((o) => o.result !== "rejected").map((o) => o.id));
}

/** Proof 1: broker unreachable, `count` publishes spooled, producer SIGKILLed, broker back, producer restarted: all arrive. */
export async function restartScenario(world: SpoolFaultWorld, count: number): Promise<void> {
  const started = Date.now();
  const args = world.producerArgs();
  const first = await startSpoolProducer(args);
  const cutAt = await world.cut();
  const published = await first.publish({ count, keys: 10, keyPrefix: "k", window: 100 }, 60_000);
  await first.kill();
  const file = openSqliteSpool({ path: world.spoolPath, readonly: true });
  const rowsAfterKill = file.depth().messages;
  file.close();
  const queuedWhileDown = world.queuedNow?.(first.outcomes);

  const backAt = await world.heal();
  const second = await startSpoolProducer(args);
  const status = await second.drained(60_000);
  const drainedMs = Date.now() - backAt;
  const delivered = await world.delivered(promisedIds(first.outcomes), first.outcomes);

  const report = runReport(createChecker(), first.outcomes, delivered);
  const down = downEvents(first.events, cutAt);
  console.log(`[fault] ${world.name} spool restart: published=${count} spool_rows_after_sigkill=${rowsAfterKill} queued_while_down=${queuedWhileDown ?? "-"} down_after_ms=${down.first === undefined ? "none" : down.first - cutAt} flushed_by_restart_in_ms=${drainedMs} parked=${status.spool?.parked} ${report.line} events1=${eventLine(first.events, cutAt)} events2=${eventLine(second.events, backAt)} ${seconds(started)}`);
  expect(published).toEqual({ confirmed: 0, spooled: count, rejected: 0 });
  expect(rowsAfterKill).toBe(count);
  if (queuedWhileDown !== undefined) expect(queuedWhileDown).toBe(0);
  expect(status.spool?.parked).toBe(0);
  expect(report.counts.distinct).toBe(count);
  expect(report.counts.duplicates).toBe(0);
  expectKept(report);
}

/** The spool bound of the full-spool scenarios. */
export const SPOOL_BOUND = 200;

/** Proof 4, whenFull "reject": beyond the bound SpoolFullError at once; the spooled ones arrive, the rejected ones never. */
export async function fullRejectScenario(world: SpoolFaultWorld): Promise<void> {
  const started = Date.now();
  const producer = await startSpoolProducer(world.producerArgs({ maxMessages: SPOOL_BOUND, whenFull: "reject" }));
  await world.cut();
  const published = await producer.publish({ count: 300, keys: 10, keyPrefix: "k", window: 10 }, 60_000);
  const full = await producer.status();
  await world.heal();
  const status = await producer.drained(60_000);
  const delivered = await world.delivered(promisedIds(producer.outcomes), producer.outcomes);

  const report = runReport(createChecker(), producer.outcomes, delivered);
  const rejected = producer.outcomes.filter((o) => o.result === "rejected");
  console.log(`[fault] ${world.name} spool full (reject): published=300 bound=${SPOOL_BOUND} first_rejected_seq=${rejected[0]?.seq} spool_depth_when_full=${full.spool?.messages} parked=${status.spool?.parked} ${report.line} ${seconds(started)}`);
  expect(published).toEqual({ confirmed: 0, spooled: SPOOL_BOUND, rejected: 300 - SPOOL_BOUND });
  expect(full.spool?.messages).toBe(SPOOL_BOUND);
  for (const o of rejected) expect(`${o.name}/${o.code}`).toBe("SpoolFullError/MISSIVE_SPOOL_FULL");
  expect(report.counts.distinct).toBe(SPOOL_BOUND);
  if (world.exactlyOnce) expect(report.counts.duplicates).toBe(0);
  expectKept(report);
}

/** Proof 4, whenFull "wait": publishes beyond the bound wait (none settles while the spool is full), then complete once the broker is back. */
export async function fullWaitScenario(world: SpoolFaultWorld): Promise<void> {
  const started = Date.now();
  const producer = await startSpoolProducer(world.producerArgs({ maxMessages: SPOOL_BOUND, whenFull: "wait" }));
  await world.cut();
  const run = producer.publish({ count: 500, keys: 10, keyPrefix: "k", window: 50 }, 60_000);
  await waitFor(() => producer.outcomes.length >= SPOOL_BOUND - 50, 20_000, "the spool to fill");
  await sleep(1000);
  const settledWhenFull = producer.outcomes.length;
  await sleep(1500);
  const settledWhileFull = producer.outcomes.length;
  const full = await producer.status();
  const backAt = await world.heal();
  const published = await run;
  const completedMs = Date.now() - backAt;
  const status = await producer.drained(60_000);
  const delivered = await world.delivered(promisedIds(producer.outcomes), producer.outcomes);

  const report = runReport(createChecker(), producer.outcomes, delivered);
  console.log(`[fault] ${world.name} spool full (wait): published=500 bound=${SPOOL_BOUND} settled_when_full=${settledWhenFull} settled_1500ms_later=${settledWhileFull} spool_depth_when_full=${full.spool?.messages} waited_ms_after_broker_back=${completedMs} parked=${status.spool?.parked} ${report.line} ${seconds(started)}`);
  expect(settledWhileFull).toBe(settledWhenFull); // backpressure: the rest waited
  expect(settledWhileFull).toBeGreaterThan(SPOOL_BOUND - 50); // a waiting chunk holds at most a window of publishes
  expect(full.spool?.messages).toBe(settledWhileFull);
  expect(full.spool?.messages).toBeLessThanOrEqual(SPOOL_BOUND);
  expect(published.rejected).toBe(0);
  expect(published.confirmed + published.spooled).toBe(500);
  expect(report.counts.distinct).toBe(500);
  if (world.exactlyOnce) expect(report.counts.duplicates).toBe(0);
  expectKept(report);
}

/** How soon after the broker is back a burst that waited on it must be confirmed. */
const BACK_WITHIN_MS = 20_000;

/**
 * Proof 4, a burst bigger than the spool, in flight as one batch when the
 * outage is noticed: never spooled in part (a batch goes to the spool whole),
 * it waits on the broker and is confirmed soon after it is back.
 */
export async function burstScenario(world: SpoolFaultWorld): Promise<void> {
  const started = Date.now();
  const producer = await startSpoolProducer(world.producerArgs({ maxMessages: SPOOL_BOUND, whenFull: "wait" }));
  // Silent, not cut: a reset connection is an outage the producer knows of before it publishes (then a burst
  // is spooled up to the bound and the rest waits, the full-spool scenario); this proof is about a batch
  // already in flight when the outage is noticed.
  await world.silence();
  const run = producer.publish({ count: 500, keys: 10, keyPrefix: "k", window: 500 }, 90_000);
  await waitFor(() => producer.events.some((e) => e.type === "broker" && e.state === "down"), 10_000, "the outage to be noticed");
  await sleep(2500);
  const settledWhileDown = producer.outcomes.length;
  const down = await producer.status();
  const backAt = await world.heal();
  const published = await Promise.race([run, sleep(BACK_WITHIN_MS).then(() => undefined)]);
  const completedMs = Date.now() - backAt;
  const after = await producer.status();
  const delivered = await world.delivered(promisedIds(producer.outcomes), producer.outcomes);

  const report = runReport(createChecker(), producer.outcomes, delivered);
  console.log(`[fault] ${world.name} spool burst > spool (wait): published=500 bound=${SPOOL_BOUND} settled_while_down=${settledWhileDown} spool_depth_while_down=${down.spool?.messages} settled_within_${BACK_WITHIN_MS}ms_of_return=${producer.outcomes.length} (${completedMs} ms) status_then=${after.broker}/${after.breaker} ${report.line} ${seconds(started)}`);
  expect(settledWhileDown).toBe(0);
  expect(down.spool?.messages).toBe(0);
  expect(published).toEqual({ confirmed: 500, spooled: 0, rejected: 0 });
  expect(report.counts.distinct).toBe(500);
  expectKept(report);
}

/**
 * Proof 3: a silent outage of `outageMs` during a stream of 200 publishes a
 * second (1.5 s before, `outageMs` in it, 2.5 s after): noticed within
 * outageAfter, the publishes during it spooled within the bound, all arrive.
 */
export async function silentOutageScenario(world: SpoolFaultWorld, outageMs: number): Promise<void> {
  const started = Date.now();
  const producer = await startSpoolProducer(world.producerArgs());
  const count = Math.round((4000 + outageMs) / 5);
  const stream = producer.publish({ count, keys: 20, keyPrefix: "k", window: 1000, intervalMs: 5 }, 120_000);
  await sleep(1500);
  const asked = Date.now();
  const from = await world.silence();
  await sleep(outageMs);
  const healAsked = Date.now();
  const healed = await world.heal();
  const published = await stream;
  const status = await producer.drained(60_000);
  const promised = promisedIds(producer.outcomes);
  const delivered = await world.delivered(promised, producer.outcomes);

  const report = runReport(createChecker(), producer.outcomes, delivered);
  const down = downEvents(producer.events, asked);
  // Called while the outage surely held.
  const during = producer.outcomes.filter((o) => o.calledAt > from && o.calledAt < healAsked);
  const duringTally = tally(during);
  const slowest = Math.max(...during.map((o) => o.settledAt - o.calledAt));
  const upAt = producer.events.find((e) => e.type === "broker" && e.state === "up" && e.at >= healAsked)?.at;
  console.log(`[fault] ${world.name} spool silent outage ${outageMs} ms: published=${producer.outcomes.length} down_after_ms=${down.first === undefined ? "none" : down.first - from} (bound ${OUTAGE_AFTER_MS}+${SLACK_MS}) downs_before=${down.before} during=${during.length} during_spooled=${duringTally.spooled} during_confirmed=${duringTally.confirmed} during_rejected=${duringTally.rejected} during_slowest_settle_ms=${slowest} up_after_heal_ms=${upAt === undefined ? "none" : upAt - healed} ${world.logExtras()} parked=${status.spool?.parked} ${report.line} events=${eventLine(producer.events, from)} ${seconds(started)}`);
  expect(published.rejected).toBe(0);
  expect(down.before).toBe(0);
  expect(down.first).toBeDefined();
  expect(down.first! - from).toBeLessThanOrEqual(OUTAGE_AFTER_MS + SLACK_MS);
  expect(during.length).toBeGreaterThan(1000);
  expect(duringTally.spooled).toBe(during.length);
  expect(slowest).toBeLessThanOrEqual(OUTAGE_AFTER_MS + SLACK_MS);
  expect(status.spool?.parked).toBe(0);
  expect(report.counts.distinct).toBe(promised.size);
  expectKept(report);
}

/**
 * A producer (re)started while the broker is unreachable: it starts, its
 * `count` publishes resolve spooled, and once the broker is back they all
 * arrive, once each, in key order.
 */
export async function startDownScenario(world: SpoolFaultWorld, count: number): Promise<void> {
  const started = Date.now();
  const cutAt = await world.cut();
  const producer = await startSpoolProducer(world.producerArgs());
  const upAfterMs = Date.now() - cutAt;
  const published = await producer.publish({ count, keys: 10, keyPrefix: "k", window: 100 }, 60_000);
  const down = await producer.status();
  const backAt = await world.heal();
  const status = await producer.drained(60_000);
  const drainedMs = Date.now() - backAt;
  const delivered = await world.delivered(promisedIds(producer.outcomes), producer.outcomes);

  const report = runReport(createChecker(), producer.outcomes, delivered);
  console.log(`[fault] ${world.name} spool start during outage: published=${count} producer_up_after_ms=${upAfterMs} status_while_down=${down.broker}/${down.breaker} spool_depth_while_down=${down.spool?.messages} flushed_in_ms=${drainedMs} parked=${status.spool?.parked} ${report.line} events=${eventLine(producer.events, cutAt)} ${seconds(started)}`);
  expect(published).toEqual({ confirmed: 0, spooled: count, rejected: 0 });
  expect(down.spool?.messages).toBe(count);
  expect(status.spool?.parked).toBe(0);
  expect(report.counts.distinct).toBe(count);
  expect(report.counts.duplicates).toBe(0);
  expectKept(report);
}

/**
 * Killed at a random point of a flush: `count` messages spooled during an
 * outage, the broker back, the flush paced (batches of 50, 1,000 msg/s) and
 * the producer SIGKILLed somewhere in it; a new producer finishes the flush.
 * Every message arrives, each key's first deliveries in order; the copies are
 * at most the batch in flight at the kill.
 */
export async function killMidFlushScenario(world: SpoolFaultWorld, count: number): Promise<void> {
  const started = Date.now();
  const FLUSH_BATCH = 50;
  const args = world.producerArgs({ flushBatch: FLUSH_BATCH }, { rateLimit: { perSecond: 1000, burst: FLUSH_BATCH } });
  const first = await startSpoolProducer(args);
  const cutAt = await world.cut();
  const published = await first.publish({ count, keys: 10, keyPrefix: "k", window: 100 }, 60_000);
  const backAt = await world.heal();
  // Wait for the flush to start, then kill at a random point of it.
  let before = await first.status();
  const deadline = Date.now() + 20_000;
  while ((before.spool?.messages ?? 0) >= count && Date.now() < deadline) {
    await sleep(20);
    before = await first.status();
  }
  const killAfterMs = Math.round(Math.random() * 800);
  await sleep(killAfterMs);
  const atKill = await first.status();
  await first.kill();

  const second = await startSpoolProducer(args);
  const status = await second.drained(60_000);
  const drainedMs = Date.now() - backAt;
  const delivered = await world.delivered(promisedIds(first.outcomes), first.outcomes);

  const report = runReport(createChecker(), first.outcomes, delivered);
  console.log(`[fault] ${world.name} spool killed mid-flush: published=${count} kill_after_flush_start_ms=${killAfterMs} waiting_at_kill=${atKill.spool?.messages} flushed_by_second_in_ms=${drainedMs} parked=${status.spool?.parked} ${report.line} events1=${eventLine(first.events, cutAt)} ${seconds(started)}`);
  expect(published).toEqual({ confirmed: 0, spooled: count, rejected: 0 });
  expect(atKill.spool?.messages).toBeGreaterThan(0); // killed before the flush ended
  expect(atKill.spool?.messages).toBeLessThan(count); // and after it began
  expect(status.spool?.parked).toBe(0);
  expect(report.counts.distinct).toBe(count);
  expect(report.counts.duplicates).toBeLessThanOrEqual(FLUSH_BATCH);
  expectKept(report);
}

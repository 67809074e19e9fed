/**
 * What one consumer measures for its service reports (service-report.ts):
 * per message type, deliveries processed and failed, pipeline time, age at
 * the handler's start and age when processed; and the keys held back behind
 * a message being retried. Fed by the telemetry stage, which reads the
 * clock at a delivery's start anyway (for its span and duration metric):
 * this adds one clock read at its end, a `Date.parse` of the envelope's
 * time, and three histogram increments per delivery. Read and reset once
 * per report interval.
 *
 * Blocked keys: held when a keyed message's attempt fails and is retried,
 * released when that message ends here (handled or dead-lettered). A retry
 * through the broker may be handled by another process; the hold then
 * lapses RETRY_GRACE_MS after the retry was due, so a key is never shown
 * blocked for good by a process that no longer holds it.
 */
import type { BlockedKey, ConsumerTypeReport, ServiceLevel } from "../transport/service-report.js";
import { LatencyHistogram } from "./latency-histogram.js";
import type { Outcome } from "./outcome.js";

const RETRY_GRACE_MS = 60_000;

interface TypeMetrics {
  processed: number;
  failed: number;
  readonly processing: LatencyHistogram;
  readonly age: LatencyHistogram;
  readonly total: LatencyHistogram;
}

interface Hold extends BlockedKey {
  readonly lapsesAt: number;
}

/** How each outcome counts in the report: processed, failed, or not this process's to count (given back, lease lost). */
const COUNTED_AS: Readonly<Record<Outcome["kind"], "processed" | "failed" | undefined>> = {
  "handled": "processed",
  "duplicate": "processed",
  "committed-then-failed": "processed",
  "retry": "failed",
  "dead-letter": "failed",
  "stop": "failed",
  "dropped": "failed",
  "settle-failed": "failed",
  "failed": undefined,
  "give-back": undefined,
  "leave": undefined,
  "lease-lost": undefined,
};

export class ConsumerMetrics {
  private readonly types = new Map<string, TypeMetrics>();
  private readonly held = new Map<string, Hold>();
  /** Wall-clock ms minus monotonic ms, refreshed every interval (the two drift apart over days). */
  private wallOffset = Date.now() - performance.now();
  private lastTime = "";
  private lastParsed = Number.NaN;

  constructor(
    readonly group: string,
    readonly slo: ServiceLevel | null,
  ) {}

  /** A delivery ended: `startedAt` is its monotonic start (performance.now()), `endedAt` its end. */
  record(type: string, outcome: Outcome["kind"], startedAt: number, endedAt: number, publishedTime: string): void {
    let t = this.types.get(type);
    if (t === undefined) {
      t = { processed: 0, failed: 0, processing: new LatencyHistogram(), age: new LatencyHistogram(), total: new LatencyHistogram() };
      this.types.set(type, t);
    }
    const countedAs = COUNTED_AS[outcome];
    if (countedAs === undefined) return; // given back or lease lost: not this process's to count
    if (countedAs === "processed") t.processed++;
    else t.failed++;
    t.processing.record(endedAt - startedAt);
    const published = this.parseTime(publishedTime);
    if (Number.isNaN(published)) return;
    t.age.record(Math.max(0, startedAt + this.wallOffset - published));
    if (countedAs === "processed") t.total.record(Math.max(0, endedAt + this.wallOffset - published));
  }

  /** Date.parse, remembering the last time read: a backlog's messages share their publish millisecond in runs. */
  private parseTime(time: string): number {
    if (time !== this.lastTime) {
      this.lastTime = time;
      this.lastParsed = Date.parse(time);
    }
    return this.lastParsed;
  }

  /** An attempt failed and is retried in-process (no outcome reaches the telemetry stage for it). */
  failedAttempt(type: string): void {
    const t = this.types.get(type);
    if (t !== undefined) t.failed++;
  }

  /** `key`'s later messages wait behind `messageId`, retried in `delayMs`. */
  hold(key: string, messageId: string, since: number, attempts: number, delayMs: number): void {
    this.held.set(key, { key, messageId, since, attempts, lapsesAt: Date.now() + delayMs + RETRY_GRACE_MS });
  }

  /** `messageId` ended here: its key is free (unless another message holds it now). */
  release(key: string, messageId: string): void {
    if (this.held.size > 0 && this.held.get(key)?.messageId === messageId) this.held.delete(key);
  }

  /** The interval's figures per type (reset), and the keys held now. */
  take(now: number): { types: ConsumerTypeReport[]; blocked: BlockedKey[] } {
    this.wallOffset = Date.now() - performance.now();
    const types: ConsumerTypeReport[] = [];
    for (const [type, t] of this.types) {
      if (t.processing.count === 0 && t.processed === 0 && t.failed === 0) continue;
      types.push({ group: this.group, type, processed: t.processed, failed: t.failed, processing: t.processing.take(), age: t.age.take(), total: t.total.take(), slo: this.slo });
      t.processed = 0;
      t.failed = 0;
    }
    const blocked: BlockedKey[] = [];
    for (const [key, h] of this.held) {
      if (h.lapsesAt < now) this.held.delete(key);
      else blocked.push({ key: h.key, since: h.since, messageId: h.messageId, attempts: h.attempts });
    }
    blocked.sort((a, b) => a.since - b.since);
    return { types, blocked: blocked.slice(0, 100) };
  }
}

/**
 * Status reports: what AMQP does not tell anyone else. A queue's declare-ok
 * counts ready messages only; how many are handed to consumers and not yet
 * settled (in flight), and how old they are, only the consumers know. So
 * every transport reports, per group it consumes, the unsettled count of its
 * subscriptions (pushed by the broker, not yet acked: buffered plus held),
 * the enqueue time of the oldest of them, and the last time a subscription
 * had spare prefetch and nothing arriving (the queue then had no ready
 * message), into the stream `missive.status`: on change (after a short
 * debounce, at most 4 a second) and as a heartbeat every few seconds.
 * stats() folds the reports of the last LIVE_MS (status-reader.ts).
 *
 * Limits: consumers that are not missive (a plain amqplib client) report
 * nothing, so their in-flight messages are not counted; a process that dies
 * without closing keeps its last report for up to LIVE_MS, while the broker
 * already counts the returned messages as ready (briefly counted twice);
 * reports are best-effort (a failed append is retried with the next change
 * or heartbeat) and use the reporter's clock.
 */
import { randomUUID } from "node:crypto";
import type { ConsumeMessage } from "amqplib";
import type { AmqpSession } from "./session.js";
import { StatusStreamWriter } from "./status-stream-writer.js";

/** Reports older than this are a stopped reporter's; stats ignores them. */
export const LIVE_MS = 15_000;
const HEARTBEAT_MS = 5000;
const TICK_MS = 100;
const MIN_GAP_MS = 250;
const CLOSE_WAIT_MS = 2000;
/** Spare prefetch with nothing arriving for this long means the broker had nothing ready to push. */
const DRAINED_AFTER_MS = 300;
export { STATUS_STREAM_ARGS } from "./status-stream-writer.js";

/** What one subscription holds unsettled right now. */
export interface UnsettledSnapshot {
  readonly group: string;
  readonly count: number;
  /** Unix ms the oldest unsettled message was enqueued (its AMQP timestamp, 1 s precision), undefined when none. */
  readonly oldestAt: number | undefined;
  /** Consuming, nothing buffered, and fewer unsettled than its prefetch: the broker would push a ready message. */
  readonly spare: boolean;
  /** Messages pushed to it so far (a change means something arrived). */
  readonly arrivals: number;
}

export interface StatusSource {
  unsettled(): UnsettledSnapshot;
}

/** One report, as appended to the stream. */
export interface StatusRecord {
  readonly v: 1;
  readonly kind: "status";
  readonly reporter: string;
  readonly group: string;
  readonly unsettled: number;
  readonly oldestAt: number | null;
  /** Latest unix ms at which a subscription of the group saw the queue without ready messages, null when never. */
  readonly drainedAt: number | null;
  readonly at: number;
}

/** When a message was enqueued: its AMQP timestamp (seconds), else now. */
export function enqueuedAtOf(message: ConsumeMessage): number {
  const ts = Number(message.properties.timestamp);
  return Number.isFinite(ts) && ts > 0 ? ts * 1000 : Date.now();
}

interface GroupState {
  readonly sources: Set<StatusSource>;
  idle: Map<StatusSource, { since: number; arrivals: number }>;
  drainedAt: number | undefined;
  lastSent: { unsettled: number; oldestAt: number | undefined } | undefined;
  lastSentAt: number;
  changedAt: number | undefined;
}

export class StatusReporter {
  readonly id = randomUUID();
  private readonly groups = new Map<string, GroupState>();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private readonly writer: StatusStreamWriter;
  private closed = false;

  constructor(
    private readonly session: AmqpSession,
    declare: boolean,
  ) {
    this.writer = new StatusStreamWriter(session, declare);
  }

  track(group: string, source: StatusSource): void {
    if (this.closed) return;
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { sources: new Set(), idle: new Map(), drainedAt: undefined, lastSent: undefined, lastSentAt: 0, changedAt: Date.now() }));
    g.sources.add(source);
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref();
  }

  /** The subscription finished: a last report for its group, so readers stop counting what it held. */
  untrack(group: string, source: StatusSource): void {
    const g = this.groups.get(group);
    if (!g) return;
    g.sources.delete(source);
    g.idle.delete(source);
    if (g.sources.size === 0) {
      this.groups.delete(group);
      this.send([this.recordOf(group, g, Date.now())]);
    }
    if (this.groups.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** This process's current reports, for its own stats() (no stream round trip). */
  current(): StatusRecord[] {
    const now = Date.now();
    return [...this.groups].map(([group, g]) => this.recordOf(group, g, now));
  }

  /** Final reports (nothing held), then stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const now = Date.now();
    const finals = [...this.groups.keys()].map((group): StatusRecord => ({ v: 1, kind: "status", reporter: this.id, group, unsettled: 0, oldestAt: null, drainedAt: null, at: now }));
    this.groups.clear();
    if (finals.length > 0) this.send(finals);
    // Best-effort: a broker that is gone must not hold up the transport's close (readers expire the reports anyway).
    await Promise.race([this.sending, new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    await this.writer.close();
  }

  private tick(): void {
    const now = Date.now();
    const due: StatusRecord[] = [];
    for (const [group, g] of this.groups) {
      const record = this.recordOf(group, g, now);
      const changed = g.lastSent === undefined || g.lastSent.unsettled !== record.unsettled || g.lastSent.oldestAt !== (record.oldestAt ?? undefined);
      if (changed) g.changedAt ??= now;
      else g.changedAt = undefined;
      // Debounced (a count that dips between an ack and the next push is not reported) and throttled.
      const send = (g.changedAt !== undefined && now - g.changedAt >= TICK_MS && now - g.lastSentAt >= MIN_GAP_MS) || now - g.lastSentAt >= HEARTBEAT_MS;
      if (!send) continue;
      g.lastSent = { unsettled: record.unsettled, oldestAt: record.oldestAt ?? undefined };
      g.lastSentAt = now;
      g.changedAt = undefined;
      due.push(record);
    }
    if (due.length > 0) this.send(due);
  }

  private recordOf(group: string, g: GroupState, now: number): StatusRecord {
    let unsettled = 0;
    let oldestAt: number | undefined;
    for (const source of g.sources) {
      const s = source.unsettled();
      unsettled += s.count;
      if (s.oldestAt !== undefined && (oldestAt === undefined || s.oldestAt < oldestAt)) oldestAt = s.oldestAt;
      const idle = g.idle.get(source);
      if (!s.spare) g.idle.delete(source);
      else if (!idle || idle.arrivals !== s.arrivals) g.idle.set(source, { since: now, arrivals: s.arrivals });
      else if (now - idle.since >= DRAINED_AFTER_MS) g.drainedAt = now - DRAINED_AFTER_MS;
    }
    return { v: 1, kind: "status", reporter: this.id, group, unsettled, oldestAt: oldestAt ?? null, drainedAt: g.drainedAt ?? null, at: now };
  }

  /** Appends in order, one batch at a time; failures are dropped (the next change or heartbeat reports again). */
  private send(records: StatusRecord[]): void {
    this.sending = this.sending.then(async () => {
      try {
        await this.writer.write(records);
      } catch (err) {
        // Status records feed `stats()` of other processes; a missed one is replaced by the next report.
        this.session.context.log.warn({ err }, "rabbitmq: writing a status report failed; the next report replaces it");
      }
    });
  }
}

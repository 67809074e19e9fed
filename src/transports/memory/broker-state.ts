/**
 * Everything a memory broker holds: bindings, per-group queues, dead
 * letters, counters, and the seeded RNG behind every fault. Transports,
 * subscriptions and deliveries are views onto one BrokerState, so several
 * transports on one broker behave like several processes on one broker.
 * All mutations are synchronous; the async edges live in the callers.
 */
import { emptyHeaders, type WireMessage } from "../../envelope/wire.js";
import { createFaults, type FaultOptions, type Faults } from "./faults.js";
import { GroupQueue, type Row } from "./group-queue.js";
import { ReportLog } from "./report-log.js";
import { createRng, type Rng } from "./rng.js";

/** A dead letter as the broker keeps it (the message id is kept for replay). */
export interface StoredDeadLetter {
  readonly entryId: string;
  readonly id: string;
  readonly group: string;
  readonly topic: string;
  readonly key: string | undefined;
  readonly wire: WireMessage;
  readonly deadLetteredAt: number;
}

/** Monotonic counters; `stats()` reports them with the queue depths. */
export interface BrokerCounters {
  /** Messages confirmed by publish (once per message, however many groups it reached). */
  published: number;
  /** Messages refused with UnroutableError. */
  unroutable: number;
  /** Deliveries handed out: first deliveries, redeliveries and duplicates. */
  delivered: number;
  /** Acks applied (dropped acks not included). */
  acked: number;
  retried: number;
  deadLettered: number;
  replayed: number;
  droppedAcks: number;
  duplicates: number;
  /** Subscription crashes (fault) plus `transport.crash()` calls. */
  crashes: number;
}

export interface MessageToEnqueue {
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** 0–9, higher claimed first; 0 without the `priorities` capability. */
  readonly priority: number;
  readonly wire: WireMessage;
}

export function copyHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out = emptyHeaders();
  for (const name in headers) out[name] = headers[name]!;
  return out;
}

export class BrokerState {
  readonly rng: Rng;
  readonly faults: Faults;
  readonly groups = new Map<string, GroupQueue>();
  /** topic → the groups bound to it (kept in step with `groups` by bind and removeGroup). */
  readonly bindings = new Map<string, Set<GroupQueue>>();
  readonly deadLetters = new Map<string, StoredDeadLetter>();
  /** Service reports of the buses on this broker. */
  readonly reports = new ReportLog();
  readonly counters: BrokerCounters = {
    published: 0, unroutable: 0, delivered: 0, acked: 0, retried: 0, deadLettered: 0, replayed: 0, droppedAcks: 0, duplicates: 0, crashes: 0,
  };
  private seq = 0;
  private deadLetterSeq = 0;
  private readonly dirty = new Set<GroupQueue>();
  private wakeScheduled = false;

  constructor(seed: number, faults: FaultOptions | undefined) {
    this.rng = createRng(seed);
    this.faults = createFaults(this.rng, faults);
  }

  now(): number {
    return Date.now();
  }

  /** The group's queue, created on first use, bound to `topics`. */
  bind(name: string, topics: readonly string[]): GroupQueue {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new GroupQueue(name);
      this.groups.set(name, group);
    }
    for (const topic of topics) {
      group.topics.add(topic);
      let bound = this.bindings.get(topic);
      if (bound === undefined) {
        bound = new Set();
        this.bindings.set(topic, bound);
      }
      bound.add(group);
    }
    return group;
  }

  /** Delete a group, its bindings and its rows (temporary groups). */
  removeGroup(group: GroupQueue): void {
    if (this.groups.get(group.name) !== group) return;
    this.groups.delete(group.name);
    for (const topic of group.topics) {
      const bound = this.bindings.get(topic);
      bound?.delete(group);
      if (bound?.size === 0) this.bindings.delete(topic);
    }
    group.removed = true;
    this.wake(group);
  }

  /** The queues a message goes to: its explicit group, or every group bound to its topic; empty when unroutable. */
  route(topic: string, group: string | undefined): GroupQueue[] {
    if (group !== undefined) {
      const queue = this.groups.get(group);
      return queue === undefined ? [] : [queue];
    }
    const bound = this.bindings.get(topic);
    return bound === undefined ? [] : [...bound];
  }

  /** Append a row; it becomes visible after `delayMs` plus the latency fault. */
  enqueue(group: GroupQueue, message: MessageToEnqueue, delayMs: number): Row {
    const latency = this.faults.latency();
    const row: Row = {
      seq: ++this.seq,
      id: message.id,
      topic: message.topic,
      key: message.key,
      priority: message.priority,
      wire: message.wire,
      enqueuedAt: this.now(),
      visibleAt: this.now() + delayMs + latency,
      latent: delayMs <= 0 && latency > 0,
      attempts: 0,
      lease: undefined,
      duplicatePending: false,
    };
    group.add(row);
    this.wake(group);
    return row;
  }

  ack(group: GroupQueue, row: Row): void {
    group.remove(row);
    this.counters.acked++;
    this.wake(group);
  }

  /** Keep the row in place (it still blocks its key) and make it visible again later. */
  retry(group: GroupQueue, row: Row, delayMs: number, headers: Readonly<Record<string, string>>): void {
    row.wire = { headers: copyHeaders(headers), body: row.wire.body };
    row.lease = undefined;
    row.duplicatePending = false;
    row.latent = false;
    row.visibleAt = this.now() + delayMs + this.faults.latency();
    this.counters.retried++;
    this.wake(group);
  }

  /** Give the row back at once (crash, close): claimable now, attempts kept. */
  release(group: GroupQueue, row: Row): void {
    row.lease = undefined;
    row.duplicatePending = false;
    row.visibleAt = Math.min(row.visibleAt, this.now());
    this.wake(group);
  }

  deadLetter(group: GroupQueue, row: Row, headers: Readonly<Record<string, string>>): StoredDeadLetter {
    group.remove(row);
    const entry: StoredDeadLetter = {
      entryId: String(++this.deadLetterSeq),
      id: row.id,
      group: group.name,
      topic: row.topic,
      key: row.key,
      wire: { headers: copyHeaders(headers), body: row.wire.body },
      deadLetteredAt: this.now(),
    };
    this.deadLetters.set(entry.entryId, entry);
    this.counters.deadLettered++;
    this.wake(group);
    return entry;
  }

  /**
   * Wake the group's waiting receivers. Coalesced into one microtask so a
   * batch lands before anyone claims, and so wake order (insertion order of
   * waiters) is deterministic for a seed.
   */
  wake(group: GroupQueue): void {
    this.dirty.add(group);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      const groups = [...this.dirty];
      this.dirty.clear();
      for (const g of groups) for (const waiter of [...g.waiters]) waiter();
    });
  }
}

/**
 * Which partitions of an ordered group this subscription owns (ADR 012),
 * kept by the lock entries of partition-locks.ts: every second it writes
 * its entries again and claims partitions nobody holds. It claims every
 * free partition (no balancing yet): the first member takes them all, the
 * others stand by and take over a dead member's partitions once its
 * entries expire.
 *
 * A partition taken from a member that did not give it back cleanly (a
 * crash, a lost link) may still have deliveries out on the server: the
 * old owner's, which the server redelivers only when their ack wait runs
 * out, ahead of anything newer. So the new owner reads the partition's
 * consumers and, when any delivery is pending, is *fenced*: it pulls and
 * hands out nothing of the partition until the ack wait (plus a margin)
 * has passed. The same fence follows a reconnect when the server has more
 * pending than this member holds (a delivery lost on the wire).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../../observability/logger.js";
import { LOCK_MARGIN_MS, LOCK_TTL_MS, type PartitionLocks } from "./partition-locks.js";

/** How often entries are written again and free partitions claimed, ms. */
const TICK_MS = 1_000;
/** Past the ack wait, before a fenced partition is read: the server's redelivery timer fires on its own schedule. */
const FENCE_MARGIN_MS = 1_000;

/** What the server has out of a partition: pending deliveries on its consumers, and their ack wait. */
export interface PartitionProbe {
  readonly pending: number;
  readonly ackWaitMs: number;
}

interface Owned {
  seq: number;
  /** Local time until which this member may act as the owner. */
  validUntil: number;
  /** Nothing of the partition is pulled or handed out before this time. */
  fencedUntil: number;
  ackWaitMs: number;
}

export interface PartitionOwnerDeps {
  readonly locks: PartitionLocks;
  readonly group: string;
  readonly partitions: number;
  /** Pending deliveries of partition `index` on the server (all its consumers). */
  probe(index: number): Promise<PartitionProbe>;
  /** How many deliveries of partition `index` this member holds or has buffered. */
  holding(index: number): number;
  readonly log: Logger;
  /** Ownership changed: pull again. */
  changed(): void;
}

export class PartitionOwner {
  readonly member = randomUUID();
  private readonly owned = new Map<number, Owned>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private claiming = true;

  constructor(private readonly deps: PartitionOwnerDeps) {}

  /** Claim now and every TICK_MS; resolves after the first round, so a lone member owns every partition at once. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    return this.tick();
  }

  /** This member may pull and hand out partition `index` now. */
  active(index: number): boolean {
    const o = this.owned.get(index);
    if (o === undefined) return false;
    const now = Date.now();
    return now < o.validUntil && now >= o.fencedUntil;
  }

  /** Still the owner (fenced or not): its held deliveries are renewed. */
  owns(index: number): boolean {
    const o = this.owned.get(index);
    return o !== undefined && Date.now() < o.validUntil;
  }

  /** A delivery of fenced partition `index` came (an old pull): dropped, it comes back after its ack wait; the fence waits for it. */
  extendFence(index: number): void {
    const o = this.owned.get(index);
    if (o !== undefined) o.fencedUntil = Math.max(o.fencedUntil, Date.now() + o.ackWaitMs + FENCE_MARGIN_MS);
  }

  fenced(index: number): boolean {
    const o = this.owned.get(index);
    return o !== undefined && Date.now() < o.fencedUntil;
  }

  /** After a reconnect: a partition whose consumers have more pending than this member holds lost a delivery on the wire. */
  async reconnected(): Promise<void> {
    await Promise.all([...this.owned.keys()].map(async (index) => {
      try {
        const p = await this.deps.probe(index);
        if (p.pending > this.deps.holding(index)) this.fence(index, p.ackWaitMs);
      } catch (err) {
        // Not knowing is treated as the worst case.
        this.deps.log.warn({ err, group: this.deps.group, partition: index }, "nats: reading a partition's pending deliveries after a reconnect failed; fencing it for its ack wait");
        this.fence(index, this.owned.get(index)?.ackWaitMs ?? 0);
      }
    }));
  }

  /**
   * Stop claiming and give every partition back: `clean` writes a free entry (the next owner starts at once: this
   * member gave back what it had, in order); otherwise the entries are left to expire and the next owner is fenced.
   */
  async close(clean: boolean): Promise<void> {
    this.claiming = false;
    clearInterval(this.timer);
    await this.ticking;
    const owned = [...this.owned.entries()];
    this.owned.clear();
    if (!clean) return;
    await Promise.all(owned.map(async ([index, o]) => {
      try {
        await this.deps.locks.write(this.deps.group, index, "", o.seq);
      } catch (err) {
        this.deps.log.warn({ err, group: this.deps.group, partition: index }, "nats: giving a partition back failed; it expires, and the next owner waits out the ack wait");
      }
    }));
  }

  private fence(index: number, ackWaitMs: number): void {
    const o = this.owned.get(index);
    if (o === undefined) return;
    o.ackWaitMs = Math.max(o.ackWaitMs, ackWaitMs);
    o.fencedUntil = Math.max(o.fencedUntil, Date.now() + o.ackWaitMs + FENCE_MARGIN_MS);
    this.deps.log.info({ group: this.deps.group, partition: index, ms: o.fencedUntil - Date.now() }, "nats: partition fenced until earlier deliveries come back");
  }

  private tick(): Promise<void> {
    if (this.ticking !== undefined || !this.claiming) return this.ticking ?? Promise.resolve();
    this.ticking = this.round().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async round(): Promise<void> {
    const before = this.owned.size;
    await Promise.all([...this.owned.keys()].map((index) => this.renew(index)));
    if (this.claiming) {
      const free = Array.from({ length: this.deps.partitions }, (_, i) => i).filter((i) => !this.owned.has(i));
      await Promise.all(free.map((index) => this.claim(index)));
    }
    if (this.owned.size !== before) this.deps.changed();
  }

  private async renew(index: number): Promise<void> {
    const o = this.owned.get(index);
    if (o === undefined) return;
    const sent = Date.now();
    if (sent >= o.validUntil) {
      this.lose(index, "its entry was not written again in time");
      return;
    }
    try {
      const r = await this.deps.locks.write(this.deps.group, index, this.member, o.seq);
      if (r === "lost") this.lose(index, "another member holds it");
      else {
        o.seq = r.seq;
        o.validUntil = sent + LOCK_TTL_MS - LOCK_MARGIN_MS;
      }
    } catch (err) {
      // The next round tries again; the partition is given up once validUntil passes.
      this.deps.log.debug({ err, group: this.deps.group, partition: index }, "nats: writing a partition lock again failed");
    }
  }

  private lose(index: number, why: string): void {
    this.owned.delete(index);
    this.deps.log.warn({ group: this.deps.group, partition: index }, `nats: partition given up: ${why}`);
  }

  private async claim(index: number): Promise<void> {
    try {
      const entry = await this.deps.locks.read(this.deps.group, index);
      if (entry !== undefined && entry.owner !== "" && entry.owner !== this.member) return;
      const sent = Date.now();
      const r = await this.deps.locks.write(this.deps.group, index, this.member, entry?.seq ?? 0);
      if (r === "lost" || !this.claiming) return;
      const o: Owned = { seq: r.seq, validUntil: sent + LOCK_TTL_MS - LOCK_MARGIN_MS, fencedUntil: Infinity, ackWaitMs: 0 };
      this.owned.set(index, o);
      // Taken over from a member that did not give it back: its deliveries may still come back (see above).
      const clean = entry !== undefined && entry.owner === "";
      const p = clean ? undefined : await this.deps.probe(index);
      o.ackWaitMs = p?.ackWaitMs ?? 0;
      o.fencedUntil = p !== undefined && p.pending > 0 ? Date.now() + p.ackWaitMs + FENCE_MARGIN_MS : 0;
      if (o.fencedUntil > 0) this.deps.log.info({ group: this.deps.group, partition: index, pending: p?.pending }, "nats: partition taken over with deliveries pending; fenced for their ack wait");
    } catch (err) {
      this.deps.log.debug({ err, group: this.deps.group, partition: index }, "nats: claiming a partition failed; the next round tries again");
      // A claim written but not probed would stay fenced for good: given up here, the next round claims it again (its own entry).
      const o = this.owned.get(index);
      if (o !== undefined && o.fencedUntil === Infinity) this.owned.delete(index);
    }
  }
}

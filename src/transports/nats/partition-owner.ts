/**
 * Which partitions of an ordered group this subscription owns (ADR 012),
 * kept by the lock entries of partition-locks.ts: every second it writes
 * its entries again, writes its member entry and counts the group's
 * members, and owns its fair share (partition-share.ts): it claims
 * partitions nobody holds up to ceil(partitions / members), and gives back
 * what is above it. A dead member's partitions are claimed once its
 * entries expire.
 *
 * A give-back is clean, so the next owner needs no wait by the clock: the
 * partition is no longer pulled; for as long as a pull sent before may
 * still deliver (`LINGER_MS`) its buffered deliveries are handed out as
 * usual; then the ones still buffered are given back in place (nakked: no
 * pull of this member is open to take them back) and, once nothing of the
 * partition is unsettled here, a free entry is written. The next owner's
 * count (below) checks that every delivery came back to it. A give-back
 * that failed (a nak not confirmed) is left to expire instead, and the next
 * owner is fenced as after a crash.
 *
 * A partition taken from a member that did not give it back cleanly (a
 * crash, a lost link) may still have deliveries out on the server: the
 * old owner's, which the server redelivers only when their ack wait runs
 * out, ahead of anything newer. So the new owner reads the partition's
 * consumers and, when any delivery is pending, is *fenced*: it pulls and
 * hands out nothing of the partition until the ack wait (plus a margin)
 * has passed. The same fence follows a reconnect when the server has more
 * pending than this member holds (a delivery lost on the wire).
 *
 * A fence is a wait by the clock; what it waits for is checked before a
 * partition's messages are handed out: the partition is *verified* once
 * its consumers have no more deliveries pending on the server than this
 * member holds (admitted and not settled). Until then something of the
 * partition is out elsewhere (a dead owner's, a give-back the server has
 * not processed yet) and an earlier message of a key could still come
 * back behind a later one. Every claim starts unverified; the subscription
 * may pull what is owed (the difference) beyond its prefetch, so what is
 * in the server's redelivery queue always reaches it. A reconnect is not
 * checked so: an ack lost with the connection leaves a message pending
 * that was handled here already (its redelivery is a duplicate the inbox
 * removes, not a reordering), and the count cannot tell it from one lost
 * on the wire; the fence by the clock covers the lost ones there.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../../observability/logger.js";
import { LOCK_MARGIN_MS, LOCK_TTL_MS, type LockEntry, type PartitionLocks } from "./partition-locks.js";
import { claimOrder, shareOf, surplusOf } from "./partition-share.js";
import { PULL_MAX_MS } from "./subscription.js";

/** How often entries are written again and free partitions claimed, ms. */
const TICK_MS = 1_000;
/** Past the ack wait, before a fenced partition is read: the server's redelivery timer fires on its own schedule. */
const FENCE_MARGIN_MS = 1_000;
/** How often an unverified partition's pending deliveries are read again, ms. */
const VERIFY_EVERY_MS = 200;
/**
 * How long after a partition stops being pulled a pull sent before may still deliver: the longest a pull stays open,
 * plus a margin for what is on the wire when one ends.
 */
const LINGER_MS = PULL_MAX_MS + 1_000;

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
  /** The server had no more pending on the partition than this member held, when last read: its messages may be handed out. */
  verified: boolean;
  /** Pending on the server at the last read (unverified only): what this member should hold. */
  pending: number;
  /** Reads after a reconnect under way: the partition is fenced until they answer. */
  probing: number;
  /** A read of the pending deliveries is under way, or when the last one ended. */
  checking: boolean;
  checkedAt: number;
  /** Being given back (above this member's share) since this local time: no longer pulled. */
  releasing?: number;
}

/** Where a give-back stands (ordered-gate.ts): nothing of the partition unsettled here, some still is, or a nak failed. */
export type GiveBack = "done" | "waiting" | "failed";

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
  /** Whether partition `index`, being given back, has nothing left unsettled here (ordered-gate.ts). */
  givenBack(index: number): GiveBack;
}

export class PartitionOwner {
  readonly member = randomUUID();
  private readonly owned = new Map<number, Owned>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private claiming = true;
  /** Partitions held still since the connection dropped, until the reconnect's count. */
  private stillSinceDrop: Array<[number, Owned]> | undefined;
  /** Members of the group at the last count (this one included); 1 until counted. */
  private members = 1;

  constructor(private readonly deps: PartitionOwnerDeps) {}

  /** Claim now and every TICK_MS; resolves after the first round, so a lone member owns every partition at once. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    return this.tick();
  }

  /** This member may pull partition `index` now: owned, not fenced, not being given back. */
  active(index: number): boolean {
    const o = this.owned.get(index);
    return o !== undefined && o.releasing === undefined && this.unfenced(o);
  }

  /** This member may hand out partition `index`'s messages: owned, not fenced, and nothing of it is out elsewhere (verified). */
  ready(index: number): boolean {
    const o = this.owned.get(index);
    if (o === undefined || !this.unfenced(o)) return false;
    if (!o.verified) this.verify(index, o);
    return o.verified;
  }

  /** Partition `index` is being given back and no pull can deliver into it any more: what it buffered goes back (a nak). */
  givingBack(index: number): boolean {
    const o = this.owned.get(index);
    return o?.releasing !== undefined && Date.now() >= o.releasing + LINGER_MS && o.probing === 0 && this.owns(index);
  }

  /** Partitions owned now, given back or not (tests, logs). */
  get ownedCount(): number {
    return this.owned.size;
  }

  private unfenced(o: Owned): boolean {
    const now = Date.now();
    return now < o.validUntil && now >= o.fencedUntil && o.probing === 0;
  }

  /** Deliveries of an unverified partition the server has out and this member does not hold yet: pulled beyond prefetch. */
  owed(index: number): number {
    const o = this.owned.get(index);
    if (o === undefined || o.verified) return 0;
    return Math.max(0, o.pending - this.deps.holding(index));
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
    return o !== undefined && (Date.now() < o.fencedUntil || o.probing > 0);
  }

  /**
   * After a reconnect: a partition whose consumers have more pending than this member holds lost a delivery on the
   * wire. Every partition is held still (no pull, no hand-out) from now until that is known: a pull sent before the
   * answer would fetch later messages of the lost one's key ahead of it.
   */
  async reconnected(): Promise<void> {
    // Held still since the drop (disconnected()), or from now when the drop was not reported first.
    const sinceDrop = this.stillSinceDrop;
    this.stillSinceDrop = undefined;
    const owned = sinceDrop ?? [...this.owned.entries()];
    if (sinceDrop === undefined) for (const [, o] of owned) o.probing++;
    // A pull the client kept while the link was down reaches the server only now: a give-back waits for it from here.
    for (const o of this.owned.values()) if (o.releasing !== undefined) o.releasing = Math.max(o.releasing, Date.now());
    await Promise.all(owned.map(async ([index, o]) => {
      try {
        const p = await this.deps.probe(index);
        if (p.pending > this.deps.holding(index)) this.fence(index, p.ackWaitMs);
      } catch (err) {
        // Not knowing is treated as the worst case.
        this.deps.log.warn({ err, group: this.deps.group, partition: index }, "nats: reading a partition's pending deliveries after a reconnect failed; fencing it for its ack wait");
        this.fence(index, o.ackWaitMs);
      } finally {
        o.probing--;
      }
    }));
    this.deps.changed();
  }

  /** The connection dropped: hold every partition still (no pull, no hand-out) until reconnected() has counted. */
  disconnected(): void {
    if (this.stillSinceDrop !== undefined) return;
    this.stillSinceDrop = [...this.owned.entries()];
    for (const [, o] of this.stillSinceDrop) o.probing++;
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
    if (clean) await Promise.all(owned.map(([index, o]) => this.free(index, o)));
    // Whether clean or not, this member is gone: the others take its share at their next round.
    await this.deps.locks.leave(this.deps.group, this.member).catch((err: unknown) => {
      this.deps.log.debug({ err, group: this.deps.group }, "nats: removing this member's entry failed; it expires");
    });
  }

  /** Write a free entry for a partition given back cleanly: the next owner starts at once. */
  private async free(index: number, o: Owned): Promise<void> {
    try {
      await this.deps.locks.write(this.deps.group, index, "", o.seq);
    } catch (err) {
      this.deps.log.warn({ err, group: this.deps.group, partition: index }, "nats: giving a partition back failed; it expires, and the next owner waits out the ack wait");
    }
  }

  /** Read the partition's pending deliveries again (at most every VERIFY_EVERY_MS); verified once this member holds them all. */
  private verify(index: number, o: Owned): void {
    if (o.checking || Date.now() - o.checkedAt < VERIFY_EVERY_MS) return;
    o.checking = true;
    this.deps.probe(index).then(
      (p) => {
        o.pending = p.pending;
        o.verified = p.pending <= this.deps.holding(index);
      },
      (err: unknown) => this.deps.log.warn({ err, group: this.deps.group, partition: index }, "nats: reading a partition's pending deliveries failed; its messages wait until it can be read"),
    ).finally(() => {
      o.checking = false;
      o.checkedAt = Date.now();
      this.deps.changed();
    });
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
    await Promise.all([...[...this.owned.keys()].map((index) => this.renew(index)), this.count()]);
    const share = shareOf(this.deps.partitions, this.members);
    let changed = this.giveBackSurplus(share);
    changed = (await this.finishGiveBacks()) || changed;
    if (this.claiming && this.owned.size < share) await this.claimFree(share - this.owned.size);
    if (changed || this.owned.size !== before) this.deps.changed();
  }

  /** Write this member's entry and count the group's members; on a failure the last count stands. */
  private async count(): Promise<void> {
    try {
      await this.deps.locks.beat(this.deps.group, this.member);
      const members = new Set(await this.deps.locks.members(this.deps.group));
      members.add(this.member);
      if (members.size !== this.members) this.deps.log.info({ group: this.deps.group, members: members.size, share: shareOf(this.deps.partitions, members.size) }, "nats: ordered group members counted");
      this.members = members.size;
    } catch (err) {
      this.deps.log.debug({ err, group: this.deps.group }, "nats: counting an ordered group's members failed; the last count stands");
    }
  }

  /** Start giving back what is above `share`; true when something started. */
  private giveBackSurplus(share: number): boolean {
    const active = [...this.owned].filter(([, o]) => o.releasing === undefined).map(([index]) => index);
    const surplus = surplusOf(active, share, (index) => this.deps.holding(index));
    const now = Date.now();
    for (const index of surplus) this.owned.get(index)!.releasing = now;
    if (surplus.length > 0) this.deps.log.info({ group: this.deps.group, partitions: surplus, share }, "nats: giving partitions back, above this member's share");
    return surplus.length > 0;
  }

  /** Free the partitions whose give-back is complete; true when one changed hands. */
  private async finishGiveBacks(): Promise<boolean> {
    let changed = false;
    await Promise.all([...this.owned].map(async ([index, o]) => {
      if (!this.givingBack(index)) return;
      changed = true;
      const state = this.deps.givenBack(index);
      if (state === "waiting") return;
      if (state === "failed") {
        this.lose(index, "giving it back failed; its entry expires, and the next owner waits out the ack wait");
        return;
      }
      try {
        const r = await this.deps.locks.write(this.deps.group, index, "", o.seq);
        this.owned.delete(index);
        if (r === "lost") this.deps.log.warn({ group: this.deps.group, partition: index }, "nats: a partition given back was held by another member already");
      } catch (err) {
        // Still owned (its entry renewed): the next round writes the free entry again.
        this.deps.log.debug({ err, group: this.deps.group, partition: index }, "nats: writing a free entry failed; trying again");
      }
    }));
    return changed;
  }

  /** Claim up to `want` free partitions: no entry (never claimed, or a dead owner's expired), a free one, or our own. */
  private async claimFree(want: number): Promise<void> {
    const candidates = claimOrder(this.deps.partitions, this.owned, Math.floor(Math.random() * this.deps.partitions));
    const entries = await Promise.all(candidates.map(async (index) => {
      try {
        return { index, entry: await this.deps.locks.read(this.deps.group, index), read: true };
      } catch (err) {
        this.deps.log.debug({ err, group: this.deps.group, partition: index }, "nats: reading a partition lock failed; the next round tries again");
        return { index, entry: undefined, read: false };
      }
    }));
    const free = entries.filter((e) => e.read && (e.entry === undefined || e.entry.owner === "" || e.entry.owner === this.member));
    await Promise.all(free.slice(0, want).map((e) => this.claim(e.index, e.entry)));
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

  private async claim(index: number, entry: LockEntry | undefined): Promise<void> {
    try {
      const sent = Date.now();
      const r = await this.deps.locks.write(this.deps.group, index, this.member, entry?.seq ?? 0);
      if (r === "lost" || !this.claiming) return;
      const o: Owned = { seq: r.seq, validUntil: sent + LOCK_TTL_MS - LOCK_MARGIN_MS, fencedUntil: Infinity, ackWaitMs: 0, verified: false, pending: 0, probing: 0, checking: false, checkedAt: 0 };
      this.owned.set(index, o);
      const p = await this.deps.probe(index);
      o.ackWaitMs = p.ackWaitMs;
      o.pending = p.pending;
      o.verified = p.pending <= this.deps.holding(index);
      o.checkedAt = Date.now();
      // Taken over from a member that did not give it back: its deliveries come back only after their ack wait (see
      // above). A clean give-back's naks are in the server's redelivery queue already: no wait, only the check.
      const clean = entry !== undefined && entry.owner === "";
      o.fencedUntil = !clean && p.pending > 0 ? Date.now() + p.ackWaitMs + FENCE_MARGIN_MS : 0;
      if (o.fencedUntil > 0) this.deps.log.info({ group: this.deps.group, partition: index, pending: p.pending }, "nats: partition taken over with deliveries pending; fenced for their ack wait");
    } catch (err) {
      this.deps.log.debug({ err, group: this.deps.group, partition: index }, "nats: claiming a partition failed; the next round tries again");
      // A claim written but not probed would stay fenced for good: given up here, the next round claims it again (its own entry).
      const o = this.owned.get(index);
      if (o !== undefined && o.fencedUntil === Infinity) this.owned.delete(index);
    }
  }
}

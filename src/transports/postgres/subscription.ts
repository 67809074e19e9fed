/**
 * A subscription: claims leased rows for one group within its prefetch
 * bound, waits without spinning when there are none (wake.ts), and renews
 * the leases of deliveries it still holds every leaseMs/3, so a long handler
 * keeps its message while a killed process's rows come back after leaseMs.
 */
import type { Pool } from "pg";
import type { Delivery, Subscription, TransportContext } from "../../transport/transport.js";
import { ClosedError, ErrorCodes, isFatal, isMissiveError } from "../../errors.js";
import { FailureStreak } from "../../transport/failure-streak.js";
import { decodeHeaders } from "../sqlite/headers-json.js";
import type { AckBatcher } from "./ack-batcher.js";
import { PgDelivery } from "./delivery.js";
import type { Claim, QueueStore } from "./queue-store.js";
import { waitForChange, type WakeChannel } from "./wake.js";

export interface SubscriptionSettings {
  readonly group: string;
  readonly prefetch: number;
  readonly ordered: boolean;
  readonly leaseMs: number;
  readonly temporary: boolean;
}

export interface SubscriptionDeps {
  readonly queue: QueueStore;
  readonly acks: AckBatcher;
  /** The transport's pool, the scope in which an inbox may ack a delivery inside its own transaction. */
  readonly pool: Pool;
  readonly channel: WakeChannel;
  /** How long a waiting receive sleeps before claiming again, given how many polls found nothing in a row. */
  readonly pollMs: (idlePolls: number) => number;
  /** False once the transport started closing. */
  readonly isOpen: () => boolean;
  readonly context: TransportContext;
  /** Called once the subscription is closed and holds nothing, so the transport forgets it. */
  readonly onFinished: (subscription: PgSubscription) => void;
}

export class PgSubscription implements Subscription {
  private readonly held = new Set<PgDelivery>();
  /** Slots taken by claims still in flight, so concurrent receives never exceed prefetch. */
  private reserved = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly anyWaiter = new Set<() => void>();
  private readonly capacityWaiter = new Set<() => void>();
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private readonly done = (d: PgDelivery): void => this.deliveryDone(d);
  private readonly claims: FailureStreak;
  private readonly renewals: FailureStreak;

  constructor(
    private readonly deps: SubscriptionDeps,
    readonly settings: SubscriptionSettings,
  ) {
    const group = settings.group;
    this.claims = new FailureStreak(deps.context, {
      what: `postgres: claiming messages for group ${JSON.stringify(group)}`,
      fields: { group },
      event: (state, reason) => ({ kind: "subscription", group, state: state === "failing" ? "failing" : "resumed", ...(reason === undefined ? {} : { reason }) }),
    });
    this.renewals = new FailureStreak(deps.context, { what: `postgres: renewing leases of group ${JSON.stringify(group)}`, fields: { group } });
  }

  async receive(max: number, waitMs: number): Promise<Delivery[]> {
    if (!this.deps.isOpen()) throw new ClosedError("postgres transport is closed");
    const limit = Math.floor(max);
    if (!(limit >= 1)) return [];
    const deadline = Date.now() + (Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 0);
    const { group, ordered, leaseMs, prefetch } = this.settings;
    const { queue, channel } = this.deps;
    let idlePolls = 0;
    while (this.live()) {
      const room = Math.min(limit, prefetch - this.held.size - this.reserved);
      let epoch = 0;
      let until = deadline;
      if (room > 0) {
        // Read the epoch before claiming, so a commit signalled after the claim is not missed.
        epoch = channel.epochOf(group);
        this.reserved += room;
        let claim: Claim;
        let next: number | undefined;
        try {
          claim = await queue.claim(group, ordered, room, leaseMs);
          if (claim.rows.length === 0 && Date.now() < deadline) next = await queue.nextVisibleIn(group, ordered);
        } catch (err) {
          if (!this.live() || (isMissiveError(err) && err.code === ErrorCodes.CLOSED)) return [];
          // The caller gets the error as well (and retries); the streak makes a stuck loop visible once, not per poll.
          this.claims.fail(err, isFatal(err));
          throw err;
        } finally {
          this.reserved -= room;
        }
        this.claims.ok();
        if (claim.rows.length > 0) {
          if (!this.live()) {
            // Closed while claiming: give the rows straight back rather than hold them to their lease's end.
            await queue.release(claim.rows.map((r) => ({ seq: r.seq, token: claim.token, group, key: r.key ?? undefined }))).catch((err: unknown) =>
              this.deps.context.log.warn({ err, group }, "postgres: releasing rows claimed while closing failed; they come back when their leases run out"),
            );
            return [];
          }
          return this.hold(claim);
        }
        if (next !== undefined) until = Math.min(until, Date.now() + next + 1);
      }
      if (Date.now() >= deadline || !this.live()) return [];
      await waitForChange({
        watch: room > 0 ? { channel, group, epoch, pollMs: this.deps.pollMs(idlePolls++) } : undefined,
        until,
        interrupts: room > 0 ? [this.anyWaiter] : [this.anyWaiter, this.capacityWaiter],
      });
    }
    return [];
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /** Every delivery handed out and not yet settled. */
  heldDeliveries(): PgDelivery[] {
    return [...this.held];
  }

  /** Transport closing: stop waiting and renewing; the transport releases what is held. */
  stop(): void {
    this.closed = true;
    this.wake(this.anyWaiter);
    this.stopRenewing();
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.wake(this.anyWaiter);
    if (this.settings.temporary && this.deps.isOpen()) {
      await this.deps.queue.dropTemporaryGroup(this.settings.group);
      this.deps.channel.forget(this.settings.group);
    }
    if (this.held.size === 0) this.finished();
  }

  private live(): boolean {
    return !this.closed && this.deps.isOpen();
  }

  private hold(claim: Claim): Delivery[] {
    const out: Delivery[] = [];
    for (const row of claim.rows) {
      const delivery = new PgDelivery(
        row.topic,
        this.settings.group,
        { headers: decodeHeaders(row.headers), body: row.body },
        row.key ?? undefined,
        row.attempts,
        String(row.seq),
        claim.token,
        this.deps.queue,
        this.deps.acks,
        this.done,
        this.deps.pool,
      );
      this.held.add(delivery);
      out.push(delivery);
    }
    this.startRenewing();
    return out;
  }

  private deliveryDone(delivery: PgDelivery): void {
    if (!this.held.delete(delivery)) return;
    this.wake(this.capacityWaiter);
    if (this.held.size === 0) {
      this.stopRenewing();
      if (this.closed) this.finished();
    }
  }

  private startRenewing(): void {
    if (this.renewTimer || !this.deps.isOpen()) return;
    const every = Math.max(1, Math.floor(this.settings.leaseMs / 3));
    this.renewTimer = setInterval(() => void this.renew(), every);
    // Renewal alone must not keep a process alive.
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async renew(): Promise<void> {
    if (this.renewing || !this.deps.isOpen()) return;
    const leases = [...this.held].filter((d) => d.status === "held" && !d.lost);
    if (leases.length === 0) return;
    this.renewing = true;
    try {
      const lost = await this.deps.queue.renew(leases, this.settings.leaseMs);
      lost.forEach((isLost, i) => {
        if (isLost) leases[i]!.lost = true;
      });
      this.renewals.ok();
    } catch (err) {
      // The database unreachable: the next tick tries again, well within the lease; a run of failures loses leases.
      if (this.deps.isOpen()) this.renewals.fail(err);
    } finally {
      this.renewing = false;
    }
  }

  private finished(): void {
    this.stopRenewing();
    this.deps.onFinished(this);
  }

  private wake(set: Set<() => void>): void {
    for (const fn of [...set]) fn();
  }
}

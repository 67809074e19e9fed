/**
 * A subscription on a broker without delay (ADR 008). The broker hands out a
 * delayed message at once; this holds it, unsettled, until the due time in
 * its not-before header, then hands it out, earliest due first. Messages
 * without one (or already due) pass straight through, never behind a held one.
 *
 * Held messages are unsettled at the broker, so they count against the
 * prefetch: a consumer holds at most `prefetch` future messages, and while
 * every slot holds one it receives nothing else until the earliest is due
 * (other consumers of the group still do). They are kept, not released: a
 * released message would come straight back, a loop that only burns CPU.
 * While held, the transport renews their leases as for any unsettled delivery.
 *
 * At most one receive of the inner subscription is under way at a time: when
 * a held message falls due first, it is handed out and the inner receive goes
 * on in the background, its deliveries kept for the next call.
 */
import type { Logger } from "../observability/logger.js";
import type { Delivery, SubscribeOptions, Subscription } from "../transport/transport.js";
import { NOT_BEFORE_HEADER } from "./delay-support.js";
import { DueHeap } from "./due-heap.js";

/** setTimeout's ceiling; a longer wait is cut to it (the receive loop simply looks again). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DelayedSubscription implements Subscription {
  /** Not due yet, by due time. */
  private readonly held = new DueHeap<Delivery>();
  /** Due (or never delayed), not handed out yet, in arrival order. */
  private readonly ready: Delivery[] = [];
  /** The inner receive under way; it never rejects (its error waits in `failure`). */
  private pulling: Promise<void> | undefined;
  /** An inner receive's error, thrown to the next caller so the consumer logs it and backs off. */
  private failure: { readonly error: unknown } | undefined;
  private closed = false;
  /** Receives waiting for a due time, a pull or close. */
  private readonly waiting = new Set<() => void>();
  /** Warned that every prefetch slot holds a future message (once per time it fills up). */
  private warnedFull = false;
  /** Deliveries taken from the inner subscription so far. */
  private arrived = 0;

  constructor(
    private readonly inner: Subscription,
    private readonly options: SubscribeOptions,
    private readonly wrap: (delivery: Delivery) => Delivery,
    private readonly log: Logger,
  ) {}

  async receive(max: number, waitMs: number): Promise<Delivery[]> {
    // Invalid arguments are the inner subscription's to refuse, with its own message.
    if (!(max >= 1) || !(waitMs >= 0)) return this.inner.receive(max, waitMs);
    const deadline = Date.now() + waitMs;
    // An inner receive of this call came back empty: from then on only the clock wakes this call, so an
    // inner subscription that answers [] at once (against the seam's contract) cannot make it spin.
    let quiet = false;
    for (let first = true; ; first = false) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        throw error;
      }
      if (this.closed) return [];
      this.moveDue(Date.now());
      if (this.ready.length > 0) return this.ready.splice(0, max);
      const left = deadline - Date.now();
      if (!first && left <= 0) return [];
      const pull = quiet ? undefined : this.pull(max, Math.max(0, left));
      const arrivedBefore = this.arrived;
      await this.until(pull, Math.min(deadline, this.held.nextDueAt()));
      if (pull !== undefined && this.pulling === undefined && this.arrived === arrivedBefore) quiet = true;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.waiting]) wake();
    // Held messages go back at once rather than when their leases run out; release is not counted as an attempt.
    await this.giveBack();
    await this.inner.close();
    // A receive that was under way may still bring deliveries; they go back too.
    await this.pulling;
    await this.giveBack();
  }

  private moveDue(now: number): void {
    for (let d = this.held.popDue(now); d !== undefined; d = this.held.popDue(now)) this.ready.push(d);
    if (this.held.size < this.options.prefetch) this.warnedFull = false;
  }

  /** Start an inner receive unless one is under way; resolves when it is done. */
  private pull(max: number, waitMs: number): Promise<void> {
    this.pulling ??= this.inner.receive(max, waitMs).then(
      (deliveries) => this.accept(deliveries),
      (error: unknown) => {
        this.failure = { error };
      },
    ).finally(() => {
      this.pulling = undefined;
    });
    return this.pulling;
  }

  private accept(deliveries: readonly Delivery[]): void {
    const now = Date.now();
    this.arrived += deliveries.length;
    for (const delivery of deliveries) {
      const due = this.dueAt(delivery);
      const wrapped = this.wrap(delivery);
      if (due > now && !this.closed) this.held.push(due, wrapped);
      else this.ready.push(wrapped);
    }
    if (this.held.size >= this.options.prefetch && !this.warnedFull) {
      this.warnedFull = true;
      this.log.warn(
        { group: this.options.group, prefetch: this.options.prefetch, nextDueInMs: this.held.nextDueAt() - now },
        "every prefetch slot holds a delayed message: this consumer receives nothing else until the earliest is due (raise prefetch, or use a broker with native delay)",
      );
    }
  }

  /** The message's due time; 0 (due) without a readable not-before header. */
  private dueAt(delivery: Delivery): number {
    const raw = delivery.wire.headers[NOT_BEFORE_HEADER];
    if (raw === undefined) return 0;
    const due = Number(raw);
    if (Number.isFinite(due)) return due;
    this.log.warn({ group: this.options.group, topic: delivery.topic, value: raw }, `ignoring an unreadable ${NOT_BEFORE_HEADER} header; delivering the message now`);
    return 0;
  }

  /** Wait for `pull` (when given) to finish, the time `wakeAt`, or close, whichever is first. */
  private until(pull: Promise<void> | undefined, wakeAt: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      this.waiting.add(done);
      if (wakeAt !== Number.POSITIVE_INFINITY) timer = setTimeout(done, Math.min(MAX_TIMER_MS, Math.max(0, wakeAt - Date.now())));
      void pull?.then(done);
    });
  }

  /** Release everything held or not yet handed out. */
  private async giveBack(): Promise<void> {
    const all = [...this.ready.splice(0), ...this.held.drain()];
    await Promise.all(all.map((d) => d.release().catch((err: unknown) => {
      // The lease is gone (the transport closed or crashed): the broker hands the message out again when it runs out.
      this.log.warn({ err, group: this.options.group, topic: d.topic }, "giving back a held delayed message failed");
    })));
  }
}

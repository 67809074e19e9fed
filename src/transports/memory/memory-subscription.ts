/**
 * A subscription to one group's queue. `receive` claims rows in seq order,
 * at most `prefetch` unsettled at once, and otherwise waits: it is woken by
 * any change to the queue (publish, settle, release) and by a timer set to
 * the next moment a row becomes visible or a lapsed lease runs out. No
 * polling, no fixed sleeps.
 */
import { ConfigurationError } from "../../errors.js";
import type { Delivery, SubscribeOptions, Subscription} from "../../transport/transport.js";
import type { MemoryCapabilities } from "./memory-capabilities.js";
import type { BrokerState } from "./broker-state.js";
import type { GroupQueue, ScanOrder } from "./group-queue.js";
import { MemoryDelivery, type AbandonMode, type DeliveryHost } from "./memory-delivery.js";

/** setTimeout's ceiling; a longer wait is cut to it (the receiver simply scans again). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class MemorySubscription implements Subscription, DeliveryHost {
  readonly holding = new Set<MemoryDelivery>();
  readonly leaseMs: number;
  /** Closed by the caller or by `transport.close()`: receive() resolves [] without waiting. */
  private closed = false;
  /** No longer attached to the broker's group (closed, or the transport crashed). */
  private detached = false;
  /** Pending receive calls, so close() can resolve them with []. */
  private readonly pending = new Set<() => void>();
  private readonly order: ScanOrder;

  constructor(
    readonly state: BrokerState,
    readonly group: GroupQueue,
    readonly capabilities: MemoryCapabilities,
    readonly owned: Set<MemoryDelivery>,
    private readonly options: SubscribeOptions,
    private readonly onClosed: (subscription: MemorySubscription) => void,
  ) {
    this.leaseMs = options.leaseMs;
    const ordering = capabilities.ordering;
    // Key blocking is asked for per subscription; fifo is a property of the queue itself.
    this.order = ordering === "key" ? (options.ordered ? "key" : "none") : ordering;
    group.activeSubscriptions++;
  }

  receive(max: number, waitMs: number): Promise<Delivery[]> {
    if (Number.isNaN(max) || max < 0) return Promise.reject(new ConfigurationError(`receive: max must be >= 0, got ${String(max)}`));
    if (Number.isNaN(waitMs) || waitMs < 0) return Promise.reject(new ConfigurationError(`receive: waitMs must be >= 0, got ${String(waitMs)}`));
    // A broker round trip: claim on a later macrotask, so a consumer loop that
    // always finds messages still lets timers (handler timeouts, deadlines) run.
    return new Promise<Delivery[]>((resolve) => setImmediate(() => resolve(this.receiveNow(max, waitMs))));
  }

  close(): Promise<void> {
    this.closeNow();
    return Promise.resolve();
  }

  /** The crash fault: everything held is abandoned and comes back at once; receiving goes on. */
  crashed(): void {
    this.abandonAll("release");
  }

  /**
   * The transport went away. `close`: the subscription is closed too.
   * `lapse` (crash): it is cut off from the broker but not closed, like a
   * dead connection: receive() waits out its waitMs and resolves [], so a
   * runtime that does not know it was "killed" idles instead of spinning.
   */
  shutdown(mode: AbandonMode): void {
    this.abandonAll(mode);
    if (mode === "close") this.closeNow();
    else this.detach();
  }

  private abandonAll(mode: AbandonMode): void {
    for (const delivery of [...this.holding]) delivery.abandon(mode);
  }

  /** Stop claiming; give up the group (temporary groups are removed). */
  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.group.activeSubscriptions--;
    if (this.options.temporary === true) this.state.removeGroup(this.group);
    else this.state.wake(this.group); // pending receives see they are detached and stop claiming
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    for (const finish of [...this.pending]) finish();
    this.onClosed(this);
  }

  private attached(): boolean {
    return !this.detached && !this.group.removed;
  }

  private receiveNow(max: number, waitMs: number): Promise<Delivery[]> | Delivery[] {
    if (this.closed) return [];
    const first = this.attached() ? this.claim(max) : { deliveries: [], nextEventAt: Infinity };
    if (first.deliveries.length > 0 || waitMs === 0) return first.deliveries;

    return new Promise<Delivery[]>((resolve) => {
      let eventTimer: NodeJS.Timeout | undefined;
      let deadlineTimer: NodeJS.Timeout | undefined;
      const finish = (deliveries: Delivery[]): void => {
        clearTimeout(eventTimer);
        clearTimeout(deadlineTimer);
        this.group.waiters.delete(wake);
        this.pending.delete(finishEmpty);
        resolve(deliveries);
      };
      const finishEmpty = (): void => finish([]);
      const armEventTimer = (at: number): void => {
        clearTimeout(eventTimer);
        eventTimer = undefined;
        if (at === Infinity) return;
        // At least 1 ms: timers may fire a little before Date.now() reaches `at`; we just scan again.
        eventTimer = setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(1, at - this.state.now())));
      };
      const wake = (): void => {
        if (this.closed) return finishEmpty();
        if (!this.attached()) {
          // Cut off from the broker: nothing will arrive; wait out the deadline (or close()).
          this.group.waiters.delete(wake);
          return armEventTimer(Infinity);
        }
        const next = this.claim(max);
        if (next.deliveries.length > 0) return finish(next.deliveries);
        armEventTimer(next.nextEventAt);
      };
      if (this.attached()) this.group.waiters.add(wake);
      this.pending.add(finishEmpty);
      if (Number.isFinite(waitMs)) deadlineTimer = setTimeout(finishEmpty, Math.min(MAX_TIMER_MS, waitMs));
      armEventTimer(first.nextEventAt);
    });
  }

  /** Claim what the queue allows now, up to `max` and the prefetch room. */
  private claim(max: number): { deliveries: Delivery[]; nextEventAt: number } {
    const room = Math.floor(Math.min(max, this.options.prefetch - this.holding.size));
    if (room <= 0) return { deliveries: [], nextEventAt: Infinity }; // a settle wakes us
    const { state, group } = this;
    const scan = group.scan(room, this.order, state.now());
    const deliveries: Delivery[] = [];
    let markedDuplicate = false;
    for (const { row, duplicate } of scan.rows) {
      if (row.lease instanceof MemoryDelivery) row.lease.forget();
      row.attempts++;
      row.duplicatePending = false;
      const delivery = new MemoryDelivery(this, row);
      row.lease = delivery;
      this.holding.add(delivery);
      this.owned.add(delivery);
      state.counters.delivered++;
      if (duplicate) {
        state.counters.duplicates++;
      } else if (state.faults.duplicate()) {
        // Handed out again by a later receive while this delivery is still unsettled.
        row.duplicatePending = true;
        markedDuplicate = true;
      }
      deliveries.push(delivery);
    }
    if (markedDuplicate) state.wake(group);
    return { deliveries, nextEventAt: scan.nextEventAt };
  }
}

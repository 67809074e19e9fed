/**
 * One consumer group's queue: rows in publish (seq) order, and the scan that
 * decides which rows a receiver may claim. Claiming itself (leases, faults,
 * deliveries) is the subscription's; this file only knows rows.
 */
import type { WireMessage } from "../../envelope/wire.js";

/** Who holds a row's lease. The row is leased while `row.lease` is set and the holder says it is live. */
export interface LeaseHolder {
  /** True while the lease keeps other receivers off the row (always, while the holder renews it). */
  isLive(now: number): boolean;
  /** When a lease that is no longer renewed runs out; Infinity while renewed or when leases never expire. */
  expiresAt(): number;
}

export interface Row {
  readonly seq: number;
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** 0–9: a claim takes higher first (only among rows it may claim, so never past an earlier row of the key). */
  readonly priority: number;
  wire: WireMessage;
  /** Not claimable before this Unix ms (delay, retry backoff, latency fault). */
  visibleAt: number;
  /** `visibleAt` comes only from the latency fault, not from an asked-for delay (fifo ordering waits for it). */
  latent: boolean;
  /** Unix ms the row was enqueued (for the oldest-message age). */
  readonly enqueuedAt: number;
  /** Claims so far; the next delivery's `attempt` is this plus one. */
  attempts: number;
  lease: LeaseHolder | undefined;
  /** The duplicate fault chose this row: hand it out once more while it is still leased. */
  duplicatePending: boolean;
}

/** How the scan orders rows: the transport's `ordering` capability, narrowed by the subscription's `ordered`. */
export type ScanOrder = "key" | "fifo" | "none";

export interface ScanResult {
  readonly rows: Array<{ readonly row: Row; readonly duplicate: boolean }>;
  /** Earliest future time at which a row may become claimable without any other event (Infinity: none). */
  readonly nextEventAt: number;
}

export class GroupQueue {
  readonly topics = new Set<string>();
  /** Set once the group is removed: late settles and receivers see it is gone. */
  removed = false;
  /** Made by a temporary subscription (request-reply): removed when it closes. */
  temporary = false;
  /** Open subscriptions (consumers of the group; with consumer groups disabled, at most one). */
  activeSubscriptions = 0;
  /** Receivers waiting for rows; woken on every change to this queue. */
  readonly waiters = new Set<() => void>();
  // A Map keeps insertion order, and seq only grows, so iteration is seq order with O(1) removal.
  private readonly rows = new Map<number, Row>();
  /** Rows with a priority above 0: while none, a scan stops at `max` rows (no sort). */
  private prioritised = 0;

  constructor(readonly name: string) {}

  get depth(): number {
    return this.rows.size;
  }

  add(row: Row): void {
    this.rows.set(row.seq, row);
    if (row.priority > 0) this.prioritised++;
  }

  remove(row: Row): void {
    if (this.rows.delete(row.seq) && row.priority > 0) this.prioritised--;
  }

  has(row: Row): boolean {
    return this.rows.get(row.seq) === row;
  }

  all(): IterableIterator<Row> {
    return this.rows.values();
  }

  /**
   * Rows a receiver may claim now, at most `max`, in seq order.
   * `key`: a row is skipped while an earlier row of the same non-null key is
   * anywhere in the queue (leased, scheduled for retry, not yet visible).
   * `fifo`: a row not yet visible only because of the latency fault holds
   * back every later row, so first deliveries keep publish order.
   * With prioritised rows in the queue, every claimable row is considered and
   * the highest priorities are taken first (seq order within a priority).
   */
  scan(max: number, order: ScanOrder, now: number): ScanResult {
    const rows: Array<{ row: Row; duplicate: boolean }> = [];
    let nextEventAt = Infinity;
    const seenKeys = order === "key" ? new Set<string>() : undefined;
    const byPriority = this.prioritised > 0;
    for (const row of this.rows.values()) {
      if (rows.length >= max && !byPriority) break;
      if (seenKeys !== undefined && row.key !== undefined) {
        if (seenKeys.has(row.key)) continue;
        seenKeys.add(row.key);
      }
      if (row.lease !== undefined && row.lease.isLive(now)) {
        if (row.duplicatePending) rows.push({ row, duplicate: true });
        else nextEventAt = Math.min(nextEventAt, row.lease.expiresAt());
        continue;
      }
      if (row.lease === undefined && row.visibleAt > now) {
        nextEventAt = Math.min(nextEventAt, row.visibleAt);
        if (order === "fifo" && row.latent) break;
        continue;
      }
      rows.push({ row, duplicate: false });
    }
    if (byPriority) {
      // Stable: seq order within a priority. A key has at most one claimable row under `key` order.
      rows.sort((a, b) => b.row.priority - a.row.priority);
      rows.length = Math.min(rows.length, max);
    }
    return { rows, nextEventAt };
  }
}

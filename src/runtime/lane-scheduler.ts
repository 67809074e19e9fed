/**
 * Runs tasks with at most `concurrency` at once. Tasks with a lane key run one
 * at a time per key, in submission order; different keys and unkeyed tasks run
 * in parallel. A lane that is waiting (a retry sleeping inside its task) holds
 * back only its own key.
 *
 * A task may have a priority (0–9, the runtime's fill-in for brokers without
 * native priority): among the tasks ready to start, higher priorities start
 * first, submission order within one. A keyed task is ready only once it is
 * its lane's head, so priority never reorders a key.
 *
 * `Lanes` starts an item by handing it to its owner, who calls
 * `finished(item)` exactly once when the item's turn ends. That keeps the
 * per-message path free of a promise, a then() and two closures per task
 * (the consumer's own continuation already knows when a delivery's turn
 * ends).
 */

/** What the lanes hold: the owner's own per-delivery object, so submitting one allocates no wrapper. */
export interface LaneItem {
  /** Its lane; undefined runs unordered. */
  readonly key: string | undefined;
  /** 0–9; higher starts first among ready items. */
  readonly priority: number;
}

interface Lane<T> {
  readonly queue: T[];
}

export class Lanes<T extends LaneItem> {
  private running = 0;
  /** Ready tasks of priority 0: the only queue used while no task has a priority. */
  private readonly ready: T[] = [];
  /** Ready tasks of priority 1–9, by priority; made on the first such task. */
  private urgent: T[][] | undefined;
  private urgentCount = 0;
  private readonly lanes = new Map<string, Lane<T>>();
  private idleWaiters: Array<() => void> = [];
  private peak = 0;
  private bounded = true;

  /** `start` begins an item's turn; it must not throw, and its owner calls `finished(item)` once the turn ends. */
  constructor(
    private concurrency: number,
    private readonly start: (item: T) => void,
  ) {}

  /**
   * Closing: tasks waiting only for a free slot start now (they give their message back without
   * running a handler), instead of queueing behind handlers that may run until the close deadline.
   * Tasks waiting for their key's lane still wait for it, so a key's order holds.
   */
  unbound(): void {
    this.bounded = false;
    this.concurrency = Number.POSITIVE_INFINITY;
    this.pump();
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Most tasks that ever ran at once. */
  get peakActive(): number {
    return this.peak;
  }

  /** Tasks submitted and not finished. */
  get pending(): number {
    let n = this.running + this.ready.length + this.urgentCount;
    for (const lane of this.lanes.values()) n += lane.queue.length;
    return n;
  }

  /** The keys with the most tasks waiting behind their running one, most first (the service report's hot keys). */
  busiestKeys(limit: number): { key: string; waiting: number }[] {
    const out: { key: string; waiting: number }[] = [];
    for (const [key, lane] of this.lanes) if (lane.queue.length > 0) out.push({ key, waiting: lane.queue.length });
    return out.sort((a, b) => b.waiting - a.waiting).slice(0, limit);
  }

  /** Submit an item; its `priority` orders it among the items ready to start. */
  add(item: T): void {
    const key = item.key;
    if (key !== undefined) {
      const lane = this.lanes.get(key);
      if (lane) {
        lane.queue.push(item);
        return;
      }
      this.lanes.set(key, { queue: [] });
    }
    this.makeReady(item);
    this.pump();
  }

  /** Resolves when nothing is pending. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private makeReady(item: T): void {
    if (item.priority <= 0) {
      this.ready.push(item);
      return;
    }
    this.urgent ??= Array.from({ length: 10 }, () => []);
    this.urgent[Math.min(item.priority, 9)]!.push(item);
    this.urgentCount++;
  }

  private next(): T | undefined {
    if (this.urgentCount > 0) {
      for (let p = 9; p > 0; p--) {
        const item = this.urgent![p]!.shift();
        if (item) {
          this.urgentCount--;
          return item;
        }
      }
    }
    return this.ready.shift();
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const item = this.next();
      if (item === undefined) break;
      this.running++;
      if (this.bounded && this.running > this.peak) this.peak = this.running;
      this.start(item);
    }
  }

  /** `item`'s turn ended: its lane's next item becomes ready. Exactly once per started item. */
  finished(item: T): void {
    const key = item.key;
    this.running--;
    if (key !== undefined) {
      const lane = this.lanes.get(key)!;
      const next = lane.queue.shift();
      if (next) this.makeReady(next);
      else this.lanes.delete(key);
    }
    this.pump();
    // Waiters first: `pending` walks every lane, which is not worth doing per task when nobody waits.
    if (this.idleWaiters.length > 0 && this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

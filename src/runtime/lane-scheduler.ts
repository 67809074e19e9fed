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
 */
export type Task = () => Promise<void>;

interface Item {
  readonly task: Task;
  readonly key: string | undefined;
  readonly priority: number;
}

interface Lane {
  readonly queue: Item[];
}

export class LaneScheduler {
  private running = 0;
  /** Ready tasks of priority 0: the only queue used while no task has a priority. */
  private readonly ready: Item[] = [];
  /** Ready tasks of priority 1–9, by priority; made on the first such task. */
  private urgent: Item[][] | undefined;
  private urgentCount = 0;
  private readonly lanes = new Map<string, Lane>();
  private idleWaiters: Array<() => void> = [];
  private peak = 0;
  private bounded = true;

  constructor(private concurrency: number) {}

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

  /** Submit a task; `priority` (0–9, default 0) orders it among the tasks ready to start. */
  submit(key: string | undefined, task: Task, priority = 0): void {
    const item: Item = { task, key, priority };
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

  private makeReady(item: Item): void {
    if (item.priority <= 0) {
      this.ready.push(item);
      return;
    }
    this.urgent ??= Array.from({ length: 10 }, () => []);
    this.urgent[Math.min(item.priority, 9)]!.push(item);
    this.urgentCount++;
  }

  private next(): Item | undefined {
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
      this.run(item.task, item.key);
    }
  }

  /** Chained with then(), not an async function with try/finally: this runs per task, and the frame costs more than the closure. */
  private run(task: Task, key: string | undefined): void {
    let running: Promise<void>;
    try {
      running = task();
    } catch {
      running = Promise.resolve();
    }
    // Tasks settle their own failures; a throw or a rejection here must not wedge the lane.
    running.then(
      () => this.finished(key),
      () => this.finished(key),
    );
  }

  private finished(key: string | undefined): void {
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

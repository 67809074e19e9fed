/**
 * Runs tasks with at most `concurrency` at once. Tasks with a lane key run one
 * at a time per key, in submission order; different keys and unkeyed tasks run
 * in parallel. A lane that is waiting (a retry sleeping inside its task) holds
 * back only its own key.
 */
export type Task = () => Promise<void>;

interface Lane {
  readonly queue: Task[];
}

export class LaneScheduler {
  private running = 0;
  private readonly ready: Array<{ task: Task; key: string | undefined }> = [];
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
    let n = this.running + this.ready.length;
    for (const lane of this.lanes.values()) n += lane.queue.length;
    return n;
  }

  submit(key: string | undefined, task: Task): void {
    if (key === undefined) {
      this.ready.push({ task, key });
    } else {
      const lane = this.lanes.get(key);
      if (lane) {
        lane.queue.push(task);
        return;
      }
      this.lanes.set(key, { queue: [] });
      this.ready.push({ task, key });
    }
    this.pump();
  }

  /** Resolves when nothing is pending. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.ready.length > 0) {
      const item = this.ready.shift()!;
      this.running++;
      if (this.bounded && this.running > this.peak) this.peak = this.running;
      void this.run(item.task, item.key);
    }
  }

  private async run(task: Task, key: string | undefined): Promise<void> {
    try {
      await task();
    } catch {
      // Tasks settle their own failures; a throw here must not wedge the lane.
    } finally {
      this.running--;
      if (key !== undefined) {
        const lane = this.lanes.get(key)!;
        const next = lane.queue.shift();
        if (next) this.ready.push({ task: next, key });
        else this.lanes.delete(key);
      }
      this.pump();
      if (this.pending === 0 && this.idleWaiters.length > 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}

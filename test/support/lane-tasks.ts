/**
 * Promise-returning tasks on the runtime's lanes (src/runtime/lane-scheduler.ts): a task's turn ends when its
 * promise settles (or it throws). The consumer ends its turns itself; the unit tests drive the lanes this way.
 */
import { Lanes, type LaneItem } from "../../src/runtime/lane-scheduler.js";

export type Task = () => Promise<void>;

interface TaskItem extends LaneItem {
  readonly task: Task;
}

/** Lanes of promise-returning tasks: a task's turn ends when its promise settles (or it throws). */
export class LaneScheduler {
  private readonly lanes: Lanes<TaskItem>;

  constructor(concurrency: number) {
    this.lanes = new Lanes<TaskItem>(concurrency, (item) => this.runTask(item));
  }

  /** Submit a task; `priority` (0–9, default 0) orders it among the tasks ready to start. */
  submit(key: string | undefined, task: Task, priority = 0): void {
    this.lanes.add({ task, key, priority });
  }

  /** Lanes.unbound. */
  unbound(): void {
    this.lanes.unbound();
  }

  get active(): number {
    return this.lanes.active;
  }

  get peakActive(): number {
    return this.lanes.peakActive;
  }

  get pending(): number {
    return this.lanes.pending;
  }

  busiestKeys(limit: number): { key: string; waiting: number }[] {
    return this.lanes.busiestKeys(limit);
  }

  idle(): Promise<void> {
    return this.lanes.idle();
  }

  private runTask(item: TaskItem): void {
    let running: Promise<void>;
    try {
      running = item.task();
    } catch {
      running = Promise.resolve();
    }
    // Tasks settle their own failures; a throw or a rejection here must not wedge the lane.
    const done = (): void => this.lanes.finished(item);
    running.then(done, done);
  }
}

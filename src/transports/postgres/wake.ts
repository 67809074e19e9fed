/**
 * Waking consumers that wait in `receive`, without spinning.
 *
 * - In-process: the transport signals its own waiters right after a commit
 *   that made a group's rows claimable (publish, retry, a key's head leaving).
 *   Per-group epochs let a waiter notice a signal that fired between its
 *   claim and its wait.
 * - Across processes: LISTEN/NOTIFY (listener.ts) signals the same channel.
 * - Fallback: a waiting receive polls (claims again) from `pollMinMs`
 *   doubling to `pollMaxMs`, or every `pollMaxMs` while the LISTEN
 *   connection is healthy (a NOTIFY lost with a dropped connection is found
 *   by that poll).
 * - Time: a timer for the earliest future `visible_at` and the caller's deadline.
 */

type Listener = () => void;

export class WakeChannel {
  private readonly epochs = new Map<string, number>();
  private readonly listeners = new Map<string, Set<Listener>>();

  epochOf(group: string): number {
    return this.epochs.get(group) ?? 0;
  }

  signal(groups: Iterable<string>): void {
    for (const group of groups) {
      this.epochs.set(group, this.epochOf(group) + 1);
      const set = this.listeners.get(group);
      if (set) for (const listener of [...set]) listener();
    }
  }

  /** Every group someone waits on: after the LISTEN connection was replaced, a NOTIFY may have been missed. */
  signalAll(): void {
    this.signal([...this.listeners.keys()]);
  }

  /** Drop a group's epoch (a temporary group that is gone), so short-lived groups do not pile up. */
  forget(group: string): void {
    if (!this.listeners.has(group)) this.epochs.delete(group);
  }

  listen(group: string, listener: Listener): () => void {
    let set = this.listeners.get(group);
    if (!set) this.listeners.set(group, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(group);
    };
  }
}

export interface WaitSpec {
  /** Wake on signals for this group (omit when only waiting for capacity). */
  readonly watch?: {
    readonly channel: WakeChannel;
    readonly group: string;
    /** The group's epoch read before the last claim attempt. */
    readonly epoch: number;
    /** How long until polling again. */
    readonly pollMs: number;
  };
  /** Absolute Unix ms: wake no later than this. */
  readonly until: number;
  /** Sets the waiter joins while it waits; calling a member wakes it early (close, capacity freed). */
  readonly interrupts: readonly Set<() => void>[];
}

/** Resolves at the first of: a signal, the poll interval, `until`, an interrupt. Never rejects. */
export function waitForChange(spec: WaitSpec): Promise<void> {
  const watch = spec.watch;
  if (watch && watch.channel.epochOf(watch.group) !== watch.epoch) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unlisten?.();
      for (const set of spec.interrupts) set.delete(finish);
      resolve();
    };
    const until = watch ? Math.min(spec.until, Date.now() + watch.pollMs) : spec.until;
    const timer = setTimeout(finish, Math.max(0, until - Date.now()));
    for (const set of spec.interrupts) set.add(finish);
    const unlisten = watch?.channel.listen(watch.group, finish);
  });
}

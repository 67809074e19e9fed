/**
 * Waking consumers that wait in `receive`, without spinning.
 *
 * - In-process: every transport instance opened on the same file shares one
 *   WakeChannel, signalled right after a commit that made a group's rows
 *   claimable (publish, retry, a key's head leaving). Per-group epochs let a
 *   waiter notice a signal that fired between its claim and its wait.
 * - Across processes: `PRAGMA data_version` changes when another connection
 *   commits; a waiting receive polls it, from `pollMinMs` doubling up to
 *   `pollMaxMs`, so an idle consumer costs a few reads a second.
 * - Time: a timer for the earliest future `visible_at` (delays, retries,
 *   expiring leases) and for the caller's deadline.
 */

type Listener = () => void;

export class WakeChannel {
  private readonly epochs = new Map<string, number>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Transport instances sharing this channel. */
  refs = 0;

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

const channels = new Map<string, WakeChannel>();

/** The channel for one database file (`fileKey`: its real path), shared by every instance in this process. */
export function acquireChannel(fileKey: string): WakeChannel {
  let channel = channels.get(fileKey);
  if (!channel) channels.set(fileKey, (channel = new WakeChannel()));
  channel.refs++;
  return channel;
}

export function releaseChannel(fileKey: string, channel: WakeChannel): void {
  channel.refs--;
  if (channel.refs <= 0 && channels.get(fileKey) === channel) channels.delete(fileKey);
}

export interface WaitSpec {
  /** Wake on in-process signals for this group (omit when only waiting for capacity). */
  readonly watch?: {
    readonly channel: WakeChannel;
    readonly group: string;
    /** The group's epoch read before the last claim attempt. */
    readonly epoch: number;
    /** Reads `PRAGMA data_version`; undefined once the database is closed. */
    readonly readVersion: () => number | undefined;
    /** The data_version read before the last claim attempt. */
    readonly version: number | undefined;
    readonly pollMinMs: number;
    readonly pollMaxMs: number;
  };
  /** Absolute Unix ms: wake no later than this. */
  readonly until: number;
  /** Sets the waiter joins while it waits; calling a member wakes it early (close, capacity freed). */
  readonly interrupts: readonly Set<() => void>[];
}

/** Resolves at the first of: a signal, a data_version change, `until`, an interrupt. Never rejects. */
export function waitForChange(spec: WaitSpec): Promise<void> {
  const watch = spec.watch;
  if (watch && watch.channel.epochOf(watch.group) !== watch.epoch) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let done = false;
    let pollTimer: NodeJS.Timeout | undefined;
    let interval = watch?.pollMinMs ?? 0;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(untilTimer);
      if (pollTimer) clearTimeout(pollTimer);
      unlisten?.();
      for (const set of spec.interrupts) set.delete(finish);
      resolve();
    };
    const untilTimer = setTimeout(finish, Math.max(0, spec.until - Date.now()));
    for (const set of spec.interrupts) set.add(finish);
    const unlisten = watch?.channel.listen(watch.group, finish);
    if (watch) {
      const poll = (): void => {
        const version = watch.readVersion();
        if (version === undefined || version !== watch.version) return finish();
        interval = Math.min(interval * 2, watch.pollMaxMs);
        pollTimer = setTimeout(poll, interval);
      };
      pollTimer = setTimeout(poll, interval);
    }
  });
}

/**
 * Group commit. Every write (publish, claim, renew, settle, bind, replay)
 * is an op queued here; the ops that arrive in the same tick, or while the
 * event loop was blocked on a busy database, run together in ONE
 * `BEGIN IMMEDIATE` transaction, so one fsync confirms them all.
 *
 * An op returns its outcome (expected failures such as a lost lease are
 * returned, not thrown). If one op throws, the whole transaction rolled
 * back, so each op is run again alone and only the culprit fails. If the
 * database stayed busy past the busy timeout, every op fails with a
 * retryable ConnectionError.
 */
import type Database from "better-sqlite3";
import { ClosedError, ConnectionError } from "../../errors.js";
import { isBusy, toTransportError } from "./sqlite-errors.js";
import { silentContext } from "../../transport/context.js";
import { FailureStreak } from "../../transport/failure-streak.js";
import type { TransportContext } from "../../transport/transport.js";

/** What an op sees while it runs inside the shared transaction. */
export interface WriteContext {
  /** Unix ms, one reading per transaction. */
  readonly now: number;
  /** Mark a group's queue as changed: its waiting consumers are woken after the commit. */
  touch(group: string): void;
}

type OpFn<T> = (ctx: WriteContext) => T;

interface PendingOp {
  readonly run: OpFn<unknown>;
  readonly weight: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

// Bounds one transaction (in messages), so a flood of publishes holds the write lock in slices.
const MAX_WEIGHT_PER_TX = 8192;

export class WriteBatcher {
  private queue: PendingOp[] = [];
  private scheduled = false;
  private closed = false;
  private readonly runAll: Database.Transaction<(ops: readonly PendingOp[], ctx: WriteContext) => unknown[]>;
  /** Write transactions that fail whole (a lock held past the busy timeout): logged, rate-limited. */
  private readonly failures: FailureStreak;

  constructor(
    private readonly db: Database.Database,
    private readonly onCommit: (groups: ReadonlySet<string>) => void,
    private readonly context: TransportContext = silentContext,
  ) {
    this.failures = new FailureStreak(context, { what: "sqlite: a write transaction" });
    this.runAll = db.transaction((ops: readonly PendingOp[], ctx: WriteContext) => ops.map((op) => op.run(ctx)));
  }

  /** Queue `run` for the next group commit; resolves with its result after the commit. */
  submit<T>(run: OpFn<T>, weight = 1): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError("sqlite transport is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, weight, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushScheduled);
      }
    });
  }

  /** Run everything queued now (used by close), then refuse new ops. */
  drainAndClose(): void {
    if (this.db.inTransaction) {
      this.abandon(new ConnectionError("sqlite transport: closed while a transaction was open on its handle; queued writes were not made"));
      return;
    }
    while (this.queue.length > 0) this.flushOnce();
    this.closed = true;
  }

  /** Fail everything queued without running it and refuse new ops. */
  private abandon(error: Error): void {
    this.closed = true;
    for (const op of this.queue.splice(0)) op.reject(error);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    if (this.db.inTransaction) {
      // Someone left a transaction open on the shared handle across an await: our ops would
      // become a savepoint inside it and "committed" would be a lie. Wait for it to end.
      this.scheduled = true;
      setTimeout(this.flushScheduled, 1);
      return;
    }
    this.flushOnce();
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushScheduled);
    }
  };

  private flushOnce(): void {
    let weight = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || weight + this.queue[n]!.weight <= MAX_WEIGHT_PER_TX)) weight += this.queue[n++]!.weight;
    const ops = n === this.queue.length ? this.queue : this.queue.slice(0, n);
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    this.runBatch(ops);
  }

  // One transaction for `ops`; if it threw, each op again alone, so only the culprit fails.
  private runBatch(ops: readonly PendingOp[]): void {
    const groups = new Set<string>();
    const ctx: WriteContext = { now: Date.now(), touch: (g) => groups.add(g) };
    let results: unknown[];
    try {
      results = this.runAll.immediate(ops, ctx);
    } catch (err) {
      if (ops.length === 1 || isBusy(err) || !this.db.open) {
        const mapped = toTransportError(err, "write transaction failed");
        // Each caller gets the error; a lock held past the busy timeout fails every write, so it is also logged here, once per streak.
        if (isBusy(err) && this.db.open) this.failures.fail(mapped);
        for (const op of ops) op.reject(mapped);
        return;
      }
      for (const op of ops) this.runBatch([op]);
      return;
    }
    this.failures.ok();
    this.commitDone(groups);
    for (let i = 0; i < ops.length; i++) ops[i]!.resolve(results[i]);
  }

  /** Wake waiters for groups changed by a commit made outside the batcher (the inbox's). */
  announce(groups: ReadonlySet<string>): void {
    this.commitDone(groups);
  }

  private commitDone(groups: ReadonlySet<string>): void {
    if (groups.size === 0) return;
    try {
      this.onCommit(groups);
    } catch (err) {
      // A wake-up listener failing must not turn a committed write into a failure; waiters still poll.
      this.context.log.error({ err }, "sqlite: waking consumers after a commit failed; they find the change at their next poll");
    }
  }
}

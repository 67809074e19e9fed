/**
 * An ordered subscription below its share of partitions whose locks are
 * refused: RabbitMQ answers RESOURCE_LOCKED (405) while another connection
 * holds a partition's lock queue (exclusive). That connection is a live
 * member handing the partition over (short), or one the broker has not yet
 * found dead: a client cut off by the network holds it until the broker's
 * heartbeat timeout (about twice `heartbeatSeconds`), a connection on a
 * cluster node that died until the survivors drop that node's transient
 * queues. None lasts for ever, but how long is the broker's to know, so the
 * member never gives up: it tries again after a backoff with full jitter
 * (capped, so a freed lock is taken within MAX_RETRY_MS), logs each refusal
 * at debug, and once it has waited WARN_AFTER_MS logs at warn and reports
 * the subscription `failing` with the partitions it waits for (FailureStreak
 * keeps the log to one line per streak and reason); it reports `resumed`
 * when it holds its share again.
 */
import { ConnectionError } from "../../errors.js";
import { fullJitterDelay, type Random } from "../../runtime/backoff.js";
import { FailureStreak } from "../../transport/failure-streak.js";
import type { TransportContext } from "../../transport/transport.js";

/** Waiting this long for a lock is news to an operator (a handover takes well under it). */
export const WARN_AFTER_MS = 5000;
const RETRY_BASE_MS = 100;
const MAX_RETRY_MS = 2000;

export interface PartitionLockWaitOptions {
  readonly warnAfterMs?: number;
  readonly random?: Random;
  readonly now?: () => number;
}

export class PartitionLockWait {
  private since: number | undefined;
  private retries = 0;
  private nextTryAt = 0;
  private readonly streak: FailureStreak;

  constructor(
    context: TransportContext,
    private readonly group: string,
    private readonly options: PartitionLockWaitOptions = {},
  ) {
    this.streak = new FailureStreak(context, {
      what: `rabbitmq: taking partitions of ordered group ${JSON.stringify(group)}`,
      fields: { group },
      event: (state, reason) => ({ kind: "subscription", group, state: state === "failing" ? "failing" : "resumed", ...(reason === undefined ? {} : { reason }) }),
      now: options.now,
    });
  }

  /** Since when this member has been waiting for a lock (unix ms), undefined when it is not. */
  get waitingSince(): number | undefined {
    return this.since;
  }

  /** Whether a claim may be tried now: not waiting, or the backoff since the last refusal is over. */
  due(): boolean {
    return this.since === undefined || this.now() >= this.nextTryAt;
  }

  /**
   * A pass of claims ended. `refused`: partitions whose lock another connection holds; `short`: this
   * member holds fewer than its share. Returns the delay before the next try, undefined when not waiting.
   */
  passed(refused: readonly number[], short: boolean): number | undefined {
    if (!short) {
      this.end();
      return undefined;
    }
    // Short but nothing refused (the backoff skipped the claims, or a claim failed otherwise): still waiting.
    if (refused.length === 0) return this.since === undefined ? undefined : Math.max(0, this.nextTryAt - this.now());
    const now = this.now();
    this.since ??= now;
    this.retries++;
    const delay = fullJitterDelay(this.retries, { baseMs: RETRY_BASE_MS, maxMs: MAX_RETRY_MS }, this.options.random ?? Math.random);
    this.nextTryAt = now + delay;
    if (now - this.since >= (this.options.warnAfterMs ?? WARN_AFTER_MS)) {
      const which = refused.length === 1 ? `partition ${refused[0]}` : `partitions ${[...refused].sort((a, b) => a - b).join(", ")}`;
      this.streak.fail(new ConnectionError(`rabbitmq: ${which} of ordered group ${JSON.stringify(this.group)} locked by another connection (RESOURCE_LOCKED); the broker frees a lock when it finds its connection gone`));
    }
    return delay;
  }

  /** Holding the share (or closing): the wait, if any, is over. */
  end(): void {
    this.since = undefined;
    this.retries = 0;
    this.nextTryAt = 0;
    this.streak.ok();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

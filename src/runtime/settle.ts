/**
 * The one place a delivery is settled: an Outcome in, one broker action out
 * (ack, retry, dead letter, release, or nothing when the message is no
 * longer ours), counted and logged. It never rejects: a settle that fails is
 * logged, and the result says `settle-failed` with a `givenBack` promise: the
 * delivery is given back after a short backoff (at once, a transport that
 * puts it first again would hand it straight back, a hot loop that starves
 * every other message), and a give-back the broker refuses too is tried
 * again, with backoff, until it is taken, the lease is lost or the consumer
 * closes. The consumer counts the delivery as held until then, so its stats
 * never say a delivery the transport still holds is done. Whatever a handler
 * threw, the delivery ends here.
 */
import { ErrorCodes, isMissiveError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import type { Delivery, Transport } from "../transport/transport.js";
import { sleep, type Random } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { messageIdOf } from "./database-dead-letters.js";
import { deadLetterDelivery } from "./dead-letter.js";
import { DiagnosticHeaders, retryHeaders } from "./diagnostics.js";
import { HANDLED, failed, type Job, type Outcome, type StageMiddleware } from "./outcome.js";

/** What settling needs to know of a delivery (a Job, or an undecodable delivery that never became one). */
export interface SettleTarget {
  readonly delivery: Delivery;
  readonly key: string | undefined;
  readonly attempt: number;
  readonly firstFailureAt: number | undefined;
  readonly envelope?: { readonly id: string };
}

/** The consumer's counters (ConsumerStats); settle and the retry stage keep them. */
export interface SettleCounts {
  handled: number;
  retried: number;
  deadLettered: number;
  duplicates: number;
  /** Settles that failed (the delivery was given back, or its lease was gone). */
  settleFailures: number;
}

export interface SettlerDeps {
  readonly transport: Transport;
  readonly group: string;
  readonly log: Logger;
  readonly counts: SettleCounts;
  readonly breaker: CircuitBreaker;
  /** Where dead letters go when set (the bus's `deadLetters`), instead of the transport. */
  readonly deadLetters: DeadLetterDatabase | undefined;
  /** A fatal error: the consumer stops. */
  readonly stop: (error: unknown) => void;
  /** The message of `key` is being handed out again elsewhere (lease lost): later held ones must not overtake it. */
  readonly leaseLost: (key: string | undefined) => void;
  /** The consumer closing: give-backs still waiting try once more at once, then leave the delivery to its lease or connection. Default: never. */
  readonly closing?: AbortSignal;
  /** Jitter of the give-back backoff. Default Math.random. */
  readonly random?: Random;
}

/** `settling`, then `after` on what it settled, when there is one. */
function andThen(settling: Promise<Outcome>, after: ((settled: Outcome) => Outcome) | undefined): Promise<Outcome> {
  return after === undefined ? settling : settling.then(after);
}

/** Give-back backoff after a refused settle: from GIVE_BACK_BASE_MS, doubling per refusal in a row, at most GIVE_BACK_MAX_MS. */
const GIVE_BACK_BASE_MS = 100;
const GIVE_BACK_MAX_MS = 5_000;

export class Settler {
  /** Settles and give-backs refused in a row (reset by any settle that works): the give-back backoff grows with it. */
  private refusedInARow = 0;

  /** The continuation of the common ack (HANDLED): one function for every message, not a closure each. */
  private readonly settledHandled = (): Outcome => this.settled(HANDLED);

  constructor(private readonly deps: SettlerDeps) {}

  /**
   * Settle `outcome`; resolves with it, or with `settle-failed`. Never rejects (unless `after` throws). With `after`,
   * resolves with what it returns for the settled outcome, called in the ack's own continuation: a caller that
   * records the settle (the fused pipeline's telemetry) needs no then() of its own.
   */
  settle(target: SettleTarget, outcome: Outcome, after?: (settled: Outcome) => Outcome): Promise<Outcome> {
    // The common case, an ack, chained with then() rather than in an async frame: this runs once per message.
    if (outcome.kind !== "handled" || outcome.acked) return andThen(this.settleOther(target, outcome), after);
    let acking: Promise<void>;
    try {
      acking = target.delivery.ack();
    } catch (error) {
      return andThen(this.failedSettle(target, outcome, error), after);
    }
    if (after !== undefined) {
      return acking.then(
        () => after(this.settled(outcome)),
        (error: unknown) => this.failedSettle(target, outcome, error).then(after),
      );
    }
    return acking.then(
      outcome === HANDLED ? this.settledHandled : () => this.settled(outcome),
      (error: unknown) => this.failedSettle(target, outcome, error),
    );
  }

  private async settleOther(target: SettleTarget, outcome: Outcome): Promise<Outcome> {
    try {
      await this.apply(target, outcome);
      return this.settled(outcome);
    } catch (error) {
      return this.failedSettle(target, outcome, error);
    }
  }

  private settled(outcome: Outcome): Outcome {
    if (outcome.kind === "handled") this.deps.counts.handled++;
    this.refusedInARow = 0;
    return outcome;
  }

  /** At-most-once: the ack before the handler runs. Resolves with `settle-failed` when it was refused (the handler then does not run). */
  async ackBeforeHandling(target: SettleTarget): Promise<Outcome | undefined> {
    try {
      await target.delivery.ack();
      return undefined;
    } catch (error) {
      return this.failedSettle(target, { kind: "handled", acked: false }, error);
    }
  }

  private async apply(target: SettleTarget, outcome: Outcome): Promise<void> {
    const { delivery } = target;
    const { counts, log, group } = this.deps;
    switch (outcome.kind) {
      case "handled":
        // Counted in settled(), with the ack that settle() makes itself.
        if (!outcome.acked) await delivery.ack();
        return;
      case "duplicate":
        if (!outcome.acked) await delivery.ack();
        counts.duplicates++;
        return;
      case "committed-then-failed":
        log.warn({ err: outcome.error, id: target.envelope?.id, group }, "handler failed after its transaction committed; acking");
        if (!outcome.acked) await delivery.ack();
        counts.handled++;
        return;
      case "retry":
        await delivery.retry(outcome.delayMs, retryHeaders(delivery.wire.headers, target.attempt, target.firstFailureAt ?? Date.now(), outcome.error));
        return;
      case "dead-letter":
        await this.deadLetter(target, outcome.error, outcome.reason);
        return;
      case "give-back":
        await delivery.release();
        return;
      case "stop":
        log.error({ err: outcome.error, id: target.envelope?.id, group }, "handler failed with a configuration or authentication error; stopping the consumer");
        this.deps.stop(outcome.error);
        // Back to the broker, uncounted: a deployment error is not the message's fault.
        await delivery.release();
        return;
      case "lease-lost":
        log.warn({ id: target.envelope?.id, group }, "the delivery's lease was lost; the broker hands the message out again");
        this.deps.leaseLost(target.key);
        return;
      case "dropped":
        log.warn({ err: outcome.error, id: target.envelope?.id, group }, "at-most-once handler failed; message dropped as configured");
        return;
      case "leave":
      case "settle-failed":
        return;
      case "failed":
        // No stage judged it: a bug in a stage. Give it back rather than hold it for ever.
        log.error({ err: outcome.error, id: target.envelope?.id, group }, "a failed delivery reached settle undecided; giving it back");
        await delivery.release();
        return;
    }
  }

  private async deadLetter(target: SettleTarget, error: unknown, reason: string): Promise<void> {
    const { transport, group, deadLetters, counts, log } = this.deps;
    const attempts = Math.max(target.attempt, 1);
    const request = { error, reason, attempts, firstFailureAt: target.firstFailureAt ?? Date.now(), group };
    const headers = await deadLetterDelivery(transport, target.delivery, request, deadLetters);
    counts.deadLettered++;
    log.warn({ id: target.envelope?.id ?? messageIdOf(target.delivery.wire), group, topic: target.delivery.topic, attempt: attempts, reason, code: headers[DiagnosticHeaders.errorCode] }, "message dead-lettered");
  }

  /**
   * The broker refused the settle. A lost lease means the message is someone else's: nothing to do.
   * Otherwise the delivery is given back (giveBack), so the transport does not hold (and renew) it while
   * this consumer counts it as done; the error is logged for a person to see.
   */
  private async failedSettle(target: SettleTarget, intended: Outcome, error: unknown): Promise<Outcome> {
    const { counts, log, group } = this.deps;
    counts.settleFailures++;
    const id = target.envelope?.id;
    if (isMissiveError(error) && error.code === ErrorCodes.LEASE_LOST) {
      this.deps.leaseLost(target.key);
      log.warn({ err: error, group, id }, "settling a delivery failed: its lease was lost; it will be redelivered");
      return { kind: "settle-failed", error, intended: intended.kind };
    }
    // A broker that keeps refusing would otherwise see the same message again at once, over and over.
    this.deps.breaker.failure();
    log.error({ err: error, group, id, outcome: intended.kind }, "settling a delivery failed; it is given back for redelivery");
    return { kind: "settle-failed", error, intended: intended.kind, givenBack: this.giveBack(target, intended, error) };
  }

  /** Release `target` after a backoff, again and again while the broker refuses; never rejects. */
  private async giveBack(target: SettleTarget, intended: Outcome, error: unknown): Promise<void> {
    const { log, group } = this.deps;
    const id = target.envelope?.id;
    for (let tries = 1; ; tries++) {
      await sleep(this.backoff(), this.deps.closing);
      try {
        await target.delivery.release();
        return;
      } catch (releaseError) {
        if (isMissiveError(releaseError) && releaseError.code === ErrorCodes.LEASE_LOST) {
          this.deps.leaseLost(target.key);
          log.warn({ err: releaseError, group, id }, "giving back a delivery failed: its lease was lost; it will be redelivered");
          return;
        }
        this.deps.breaker.failure();
        if (this.deps.closing?.aborted === true) {
          log.error({ err: error, releaseError, group, id, outcome: intended.kind, tries }, "settling a delivery failed, and so did giving it back; the consumer is closing, so the transport keeps it until its lease or connection ends");
          return;
        }
        // Every refusal is an error a person should see, but one line per backoff step, not per retry storm.
        log.error({ err: error, releaseError, group, id, outcome: intended.kind, tries }, "settling a delivery failed, and so did giving it back; it stays held and is given back again after a backoff");
      }
    }
  }

  private backoff(): number {
    const ceiling = Math.min(GIVE_BACK_MAX_MS, GIVE_BACK_BASE_MS * 2 ** Math.min(this.refusedInARow++, 16));
    // Equal jitter: never near 0 (a hot loop), spread so many refused deliveries do not come back together.
    return ceiling / 2 + (this.deps.random ?? Math.random)() * (ceiling / 2);
  }
}

/**
 * The pipeline stage that settles: whatever the stages inside decided (or
 * threw, which only a bug in a stage can do) is settled here. A success of an
 * unkeyed delivery is left committing in `job.settling`: no lane order depends
 * on when it lands, so its lane slot is free at once and the acks of many
 * handlers share one commit; the consumer holds the delivery until it settles.
 */
export function settleStage(settler: Settler): StageMiddleware {
  const settle = settleOutcome(settler);
  // Chained with then(), not an async function: this runs once per message, and an async frame costs more than the closures.
  return (next) => (job) => {
    let inner: Promise<Outcome>;
    try {
      inner = next(job);
    } catch (error) {
      inner = Promise.reject(error);
    }
    return inner.then(
      (outcome) => settle(job, outcome),
      (error: unknown) => settle(job, failed(error)),
    );
  };
}

/** A success of an unkeyed delivery: its ack is left committing in `job.settling` (no lane order depends on when it lands). */
export function leftCommitting(job: Job, outcome: Outcome): boolean {
  return outcome.kind === "handled" && !outcome.acked && job.key === undefined;
}

/** The settle stage's work on an outcome, without its then(): the fused default pipeline (fused-pipeline.ts) calls it directly. */
export function settleOutcome(settler: Settler): (job: Job, outcome: Outcome) => Outcome | Promise<Outcome> {
  return (job, outcome) => {
    if (leftCommitting(job, outcome)) {
      job.settling = settler.settle(job, outcome);
      return outcome;
    }
    return settler.settle(job, outcome);
  };
}

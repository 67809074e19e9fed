/**
 * The one place a delivery is settled: an Outcome in, one broker action out
 * (ack, retry, dead letter, release, or nothing when the message is no
 * longer ours), counted and logged. It never rejects: a settle that fails is
 * logged, the delivery is given back so the transport does not go on holding
 * it, and the result says `settle-failed`. Whatever a handler threw, the
 * delivery ends here.
 */
import { ErrorCodes, isMissiveError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import type { Delivery, Transport } from "../transport/transport.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { messageIdOf } from "./database-dead-letters.js";
import { deadLetterDelivery } from "./dead-letter.js";
import { DiagnosticHeaders, retryHeaders } from "./diagnostics.js";
import { failed, type Outcome, type StageMiddleware } from "./outcome.js";

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
}

export class Settler {
  constructor(private readonly deps: SettlerDeps) {}

  /** Settle `outcome`; resolves with it, or with `settle-failed`. Never rejects. */
  async settle(target: SettleTarget, outcome: Outcome): Promise<Outcome> {
    try {
      // The common case inline, without apply()'s extra async frame: this runs once per message.
      if (outcome.kind === "handled") {
        if (!outcome.acked) await target.delivery.ack();
        this.deps.counts.handled++;
      } else await this.apply(target, outcome);
      return outcome;
    } catch (error) {
      return this.failedSettle(target, outcome, error);
    }
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
        if (!outcome.acked) await delivery.ack();
        counts.handled++;
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
   * Otherwise give the delivery back, so the transport does not hold (and renew) it while this consumer
   * counts it as done; if even that fails, the error is logged for a person to see.
   */
  private async failedSettle(target: SettleTarget, intended: Outcome, error: unknown): Promise<Outcome> {
    const { counts, log, group } = this.deps;
    counts.settleFailures++;
    const id = target.envelope?.id;
    if (isMissiveError(error) && error.code === ErrorCodes.LEASE_LOST) {
      this.deps.leaseLost(target.key);
      log.warn({ err: error, group, id }, "settling a delivery failed: its lease was lost; it will be redelivered");
    } else {
      // A broker that keeps refusing would otherwise see the same message again at once, over and over.
      this.deps.breaker.failure();
      try {
        if (intended.kind === "give-back") throw error;
        await target.delivery.release();
        log.error({ err: error, group, id, outcome: intended.kind }, "settling a delivery failed; it was given back for redelivery");
      } catch (releaseError) {
        log.error({ err: error, releaseError, group, id, outcome: intended.kind }, "settling a delivery failed, and so did giving it back; the transport may hold it until its lease or connection ends");
      }
    }
    return { kind: "settle-failed", error, intended: intended.kind };
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
  return (next) => async (job) => {
    let outcome: Outcome;
    try {
      outcome = await next(job);
    } catch (error) {
      outcome = failed(error);
    }
    if (outcome.kind === "handled" && !outcome.acked && job.key === undefined) {
      job.settling = settler.settle(job, outcome);
      return outcome;
    }
    return settler.settle(job, outcome);
  };
}

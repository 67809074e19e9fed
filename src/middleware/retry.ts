/**
 * Retry (docs/contract.md §4, §5): a failed attempt goes through the failure policy,
 * which decides; this stage carries the decision out. A retry goes through
 * the broker (native delay, the attempt written in the message's headers)
 * when that cannot reorder a key; otherwise it waits here, in-process, with
 * the delivery held and its lane blocked, and runs the attempt again.
 */
import { sleep, type Random } from "../runtime/backoff.js";
import { classifyFailure, type RetrySettings } from "../runtime/failure-policy.js";
import { codeOf } from "../runtime/diagnostics.js";
import type { ConsumerMetrics } from "../runtime/consumer-metrics.js";
import { DUPLICATE, type Job, type Outcome, type Stage, type StageMiddleware } from "../runtime/outcome.js";
import { noopLogger, type Logger } from "../observability/logger.js";

export interface RetryStageOptions {
  readonly retry: RetrySettings;
  readonly random: Random;
  /** Retry through the broker (`nativeDelay`, and no key order the broker would not keep). */
  readonly brokerRetry: boolean;
  /** The consumer closing: ends an in-process wait. */
  readonly closing: AbortSignal;
  /** Retries decided, in-process ones included (ConsumerStats.retried). */
  readonly counts: { retried: number };
  /** Every retry is logged here (default: none). */
  readonly log?: Logger;
  /** The service report's figures: in-process failed attempts, and keys held behind a retry (ordered consumers). */
  readonly metrics?: ConsumerMetrics;
  /**
   * Sees every attempt's outcome first, as a stage right inside this one would (the breaker's observer,
   * breaker.ts): run in this stage's own continuation, one then() per message fewer. Default: none.
   */
  readonly observe?: (outcome: Outcome) => Outcome;
}

/** What follows an attempt: its outcome (failed ones through the policy, retried in-process here when it says so) or a promise of it. */
export type AfterAttempt = (next: Stage, job: Job, attempted: Outcome) => Outcome | Promise<Outcome>;

export function retryStage(options: RetryStageOptions): StageMiddleware {
  const first = afterAttempt(options);
  return (next) => (job) => next(job).then((outcome) => first(next, job, outcome));
}

/**
 * The retry stage's work after an attempt, without the then() that waits for the attempt: the fused default
 * pipeline (fused-pipeline.ts) calls it in the one continuation it has per delivery.
 */
export function afterAttempt(options: RetryStageOptions): AfterAttempt {
  const { retry, random, brokerRetry, closing, counts, log = noopLogger, metrics, observe } = options;
  // Only ordered consumers have a lane key; a finished message frees the key it held.
  const done = (job: Job, outcome: Outcome): Outcome => {
    if (job.key !== undefined) metrics?.release(job.key, job.envelope.id);
    return outcome;
  };
  /** After a failed attempt: the policy decides; an in-process retry runs the attempt again here, as often as it decides. */
  const afterFailure = async (next: Stage, job: Job, firstError: unknown): Promise<Outcome> => {
    for (let error = firstError; ;) {
      job.firstFailureAt ??= Date.now();
      const decision = classifyFailure(error, job.attempt, retry, random);
      switch (decision.action) {
        case "abandon":
          return { kind: "lease-lost", error };
        case "ack":
          return DUPLICATE;
        case "stop":
          return { kind: "stop", error };
        case "dead-letter":
          return done(job, { kind: "dead-letter", reason: decision.reason, error });
        case "retry":
          break;
      }
      counts.retried++;
      log.warn({ id: job.envelope.id, type: job.envelope.type, group: job.delivery.group, attempt: job.attempt, code: codeOf(error), delayMs: decision.delayMs, err: error }, "attempt failed; retrying");
      if (job.key !== undefined) metrics?.hold(job.key, job.envelope.id, job.firstFailureAt, job.attempt, decision.delayMs);
      if (brokerRetry) return { kind: "retry", delayMs: decision.delayMs, error };
      metrics?.failedAttempt(job.envelope.type);
      await sleep(decision.delayMs, closing);
      if (closing.aborted) return { kind: "leave", error };
      job.attempt++;
      const attempted = await next(job);
      const outcome = observe === undefined ? attempted : observe(attempted);
      // A later attempt that never started (closing): stay unsettled, so the failed one still counts.
      if (outcome.kind === "give-back") return { kind: "leave", error: undefined };
      if (outcome.kind !== "failed") return done(job, outcome);
      error = outcome.error;
    }
  };
  // The first attempt's outcome in the caller's continuation: most succeed, and an async frame per message costs more.
  return (next, job, attempted) => {
    const outcome = observe === undefined ? attempted : observe(attempted);
    return outcome.kind === "failed" ? afterFailure(next, job, outcome.error) : done(job, outcome);
  };
}

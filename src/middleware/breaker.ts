/**
 * Feeds the consumer circuit breaker (docs/contract.md §5) with every attempt's
 * result: a success closes it, a run of failures a retry could be about
 * opens it, and the consumer loop then pauses fetching instead of burning
 * every message's retry budget. Sits inside the retry stage, so each
 * in-process attempt counts, and outside the inbox, so duplicates do not.
 */
import type { CircuitBreaker } from "../runtime/circuit-breaker.js";
import { feedsBreaker } from "../runtime/failure-policy.js";
import type { Outcome, StageMiddleware } from "../runtime/outcome.js";

export function breakerStage(breaker: CircuitBreaker): StageMiddleware {
  // One observer for every delivery, chained with then(): no async frame or closure per message.
  const observe = breakerObserver(breaker);
  return (next) => (job) => next(job).then(observe);
}

/**
 * What the stage does to each attempt's outcome, for a stage right outside it to run in its own continuation
 * (the retry stage does, one then() fewer per message): feeds the breaker, returns the outcome unchanged.
 */
export function breakerObserver(breaker: CircuitBreaker): (outcome: Outcome) => Outcome {
  return (outcome) => {
    if (outcome.kind === "handled") breaker.success();
    else if (outcome.kind === "failed" && feedsBreaker(outcome.error)) breaker.failure();
    return outcome;
  };
}

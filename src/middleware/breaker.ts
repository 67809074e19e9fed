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
  const observe = (outcome: Outcome): Outcome => {
    if (outcome.kind === "handled") breaker.success();
    else if (outcome.kind === "failed" && feedsBreaker(outcome.error)) breaker.failure();
    return outcome;
  };
  return (next) => (job) => next(job).then(observe);
}

/**
 * At-most-once delivery (docs/contract.md §3), for telemetry that may be lost: the
 * message is acked before its handler runs, never retried, and a failure
 * drops it (logged). Used instead of the retry and breaker stages.
 */
import { ClosedError } from "../errors.js";
import { HANDLED_ACKED, type StageMiddleware } from "../runtime/outcome.js";
import type { Settler } from "../runtime/settle.js";

export function atMostOnceStage(settler: Settler): StageMiddleware {
  return (next) => async (job) => {
    const refused = await settler.ackBeforeHandling(job);
    if (refused) return refused;
    const outcome = await next(job);
    switch (outcome.kind) {
      case "handled":
        return HANDLED_ACKED;
      case "duplicate":
      case "committed-then-failed":
        return { ...outcome, acked: true };
      case "failed":
        return { kind: "dropped", error: outcome.error };
      case "give-back":
        // Already acked: it cannot go back. Closing cut the wait for its turn short.
        return { kind: "dropped", error: new ClosedError("consumer closing before the handler of an at-most-once message started") };
      default:
        return outcome;
    }
  };
}

/**
 * Bad input never reaches the handler (docs/contract.md §5, §10): the message is
 * resolved against its contract here (type, version, upcasters, schema), and
 * one that does not fit is dead-lettered at once with the reason `poison`.
 */
import type { ContractRegistry } from "../contract/registry.js";
import { inspectable } from "../runtime/inspectable-error.js";
import type { Outcome, StageMiddleware } from "../runtime/outcome.js";
import type { PendingOr } from "../contract/validate.js";

export function poisonStage(registry: ContractRegistry): StageMiddleware {
  // No async frame or promise per message: a schema that validates synchronously (almost every one) lets
  // the message go on at once; only an asynchronous one is waited for.
  return (next) => (job) => {
    let read: PendingOr<unknown>;
    try {
      read = registry.readNow(job.envelope);
    } catch (error) {
      return Promise.resolve(poisoned(error));
    }
    if ("pending" in read) {
      return read.pending.then((data) => {
        job.data = data;
        return next(job);
      }, poisoned);
    }
    job.data = read.value;
    try {
      return next(job);
    } catch (error) {
      // As when next ran in a then() callback: what it throws rejects the stage's promise.
      return Promise.reject(error as Error);
    }
  };
}

/** A message that does not fit its contract: dead-lettered at once, never retried. */
export function poisoned(error: unknown): Outcome {
  return { kind: "dead-letter", reason: "poison", error: inspectable(error) };
}

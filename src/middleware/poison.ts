/**
 * Bad input never reaches the handler (docs/contract.md §5, §10): the message is
 * resolved against its contract here (type, version, upcasters, schema), and
 * one that does not fit is dead-lettered at once with the reason `poison`.
 */
import type { ContractRegistry } from "../contract/registry.js";
import { inspectable } from "../runtime/inspectable-error.js";
import type { StageMiddleware } from "../runtime/outcome.js";

export function poisonStage(registry: ContractRegistry): StageMiddleware {
  // Chained with then(), not an async function: an async frame per message costs more than the closure.
  return (next) => (job) =>
    registry.read(job.envelope).then(
      (read) => {
        job.data = read.data;
        return next(job);
      },
      (error: unknown) => ({ kind: "dead-letter", reason: "poison", error: inspectable(error) }),
    );
}

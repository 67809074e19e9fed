/**
 * Bad input never reaches the handler (docs/contract.md §5, §10): the message is
 * resolved against its contract here (type, version, upcasters, schema), and
 * one that does not fit is dead-lettered at once with the reason `poison`.
 */
import type { ContractRegistry } from "../contract/registry.js";
import { inspectable } from "../runtime/inspectable-error.js";
import type { StageMiddleware } from "../runtime/outcome.js";

export function poisonStage(registry: ContractRegistry): StageMiddleware {
  return (next) => async (job) => {
    try {
      job.data = (await registry.read(job.envelope)).data;
    } catch (error) {
      return { kind: "dead-letter", reason: "poison", error: inspectable(error) };
    }
    // Awaited, not returned: an async function returning a promise costs two more microtask hops per message.
    return await next(job);
  };
}

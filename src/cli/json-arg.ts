/** JSON given on the command line or in a file: parsed strictly (no `__proto__` keys, bounded depth); bad JSON is a usage error. */
import { parseJsonSafely } from "../envelope/safe-json.js";
import { usageError } from "./exit-codes.js";
import { safeText } from "./output.js";

export function parseJsonArgument(text: string, what: string): unknown {
  try {
    return parseJsonSafely(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw usageError(`${what} is not valid JSON: ${safeText(why)}`);
  }
}

/**
 * A handler may throw anything: a value whose getters throw, a Proxy whose
 * traps throw. The failure policy, the dead-letter diagnostics, telemetry and
 * the logger all read what was thrown; if reading it throws, the delivery
 * could never be settled. So every thrown value is read once, here, where it
 * enters the runtime, and one that cannot be read is replaced.
 */
import { ErrorCodes, MissiveError } from "../errors.js";

export function inspectable(value: unknown): unknown {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return value;
  try {
    // What the runtime reads: its class (policy, diagnostics), code, name, message, stack, and its keys (loggers).
    if (value instanceof Error) {
      String(value.name);
      String(value.message);
      String(value.stack);
    }
    if ("code" in value) String((value as { code: unknown }).code);
    Reflect.ownKeys(value);
    return value;
  } catch {
    // Not kept as `cause`: whatever reads a cause would throw in its turn.
    return new MissiveError(
      ErrorCodes.UNKNOWN,
      "the handler threw a value that cannot be read (a getter or Proxy trap threw); treated as an unknown error",
    );
  }
}

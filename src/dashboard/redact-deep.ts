/**
 * Every string of an answer through redact(): a broker URL's password never
 * leaves the dashboard, wherever it hides (an error message or stack a
 * handler wrote into the diagnostics, a header, a body, the source URL).
 * Done on values, not on the JSON text, so a match can never straddle two
 * strings and corrupt the document.
 */
import { redact } from "../redact.js";

export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  // JSON the dashboard sends is shallow; a body nested deeper than this is already refused by the decoder.
  if (value === null || typeof value !== "object" || depth > 100) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, redact(k), { value: redactDeep(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Headers are stored as a JSON object of strings (`{"ce-id": "…", …}`), so a
 * plain SQLite client can read and write them. Rows written by such clients
 * are not trusted: whatever the column holds becomes a null-prototype record
 * of strings, and text that is not a JSON object is kept under one
 * diagnostic header instead of being lost (the runtime then dead-letters it).
 */
import { emptyHeaders } from "../../envelope/wire.js";

/** Carries a `headers` column that is not a JSON object, truncated. Not under the `missive-` prefix: dead-lettering strips that prefix, and this is the original content. */
export const BAD_HEADERS_HEADER = "x-missive-bad-headers";
const BAD_HEADERS_KEEP = 4096;

export function encodeHeaders(headers: Readonly<Record<string, string>>): string {
  return JSON.stringify(headers);
}

export function decodeHeaders(text: unknown): Record<string, string> {
  const out = emptyHeaders();
  if (typeof text !== "string") {
    out[BAD_HEADERS_HEADER] = String(text).slice(0, BAD_HEADERS_KEEP);
    return out;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    out[BAD_HEADERS_HEADER] = text.slice(0, BAD_HEADERS_KEEP);
    return out;
  }
  const record = parsed as Record<string, unknown>;
  if (isCanonical(record)) return adopt(record);
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (value === null || value === undefined) continue;
    out[name.toLowerCase()] = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return out;
}

/**
 * What missive itself writes: every name lower-case, every value a string. The copy would change nothing.
 * for-in rather than Object.keys: no array per message. It also visits enumerable names someone put on
 * Object.prototype, but those never reach the record: both adopting and copying keep own names only.
 */
function isCanonical(record: Record<string, unknown>): boolean {
  for (const name in record) {
    if (typeof record[name] !== "string" || name.toLowerCase() !== name) return false;
  }
  return true;
}

/**
 * Make a canonical object (fresh from JSON.parse, referenced nowhere else) the null-prototype record
 * itself instead of copying it: the same own properties in the same order (a `__proto__` key is an own
 * property either way), in V8's fast mode as `emptyHeaders` makes one, and no copy per message.
 */
function adopt(record: Record<string, unknown>): Record<string, string> {
  return Object.setPrototypeOf(record, null) as Record<string, string>;
}


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
  for (const name of Object.keys(parsed)) {
    const value = (parsed as Record<string, unknown>)[name];
    if (value === null || value === undefined) continue;
    out[name.toLowerCase()] = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return out;
}


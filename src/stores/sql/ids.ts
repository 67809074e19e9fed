/**
 * Inbox keys as stored: a group name or message id longer than 200
 * characters is stored as `sha256:<hex>` of itself, so a hostile id from the
 * wire still fits the indexed columns of every database (MySQL's VARCHAR(255)
 * included) and still deduplicates exactly.
 */
import { createHash } from "node:crypto";
import { ConfigurationError } from "../../errors.js";

const MAX_PLAIN = 200;

export function storedKey(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0) throw new ConfigurationError(`inbox: ${what} must be a non-empty string`);
  return indexedKey(value);
}

/** `value` itself up to 200 characters, else `sha256:<hex>` of it: what an indexed key column holds (the dead-letter table's too). */
export function indexedKey(value: string): string {
  return value.length <= MAX_PLAIN ? value : `sha256:${createHash("sha256").update(value).digest("hex")}`;
}

export function checkAge(olderThanMs: unknown, store: string): number {
  if (typeof olderThanMs !== "number" || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new ConfigurationError(`${store} inbox: cleanup needs a non-negative age in ms, got ${typeof olderThanMs === "number" ? String(olderThanMs) : typeof olderThanMs}`);
  }
  return olderThanMs;
}

/**
 * Table names the user chooses, checked strictly: they are spliced into SQL
 * (quoted) and into derived index, trigger and channel names, so only
 * lower-case letters, digits and `_`, starting with a letter, up to 48
 * characters (index names add a suffix; PostgreSQL cuts identifiers at 63).
 */
import { ConfigurationError } from "../../errors.js";

export const TABLE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

export const DEFAULT_OUTBOX_TABLE = "missive_outbox";
export const DEFAULT_INBOX_TABLE = "missive_inbox";
// Not `missive_dead_letters`: that is the SQLite transport's native table, and both may share one file.
export const DEFAULT_DEAD_LETTER_TABLE = "missive_dlq";

/** `name`, or `fallback` when undefined; a ConfigurationError for anything else than a valid table name. */
export function tableName(name: unknown, fallback: string, what: string): string {
  const value = name === undefined ? fallback : name;
  if (typeof value !== "string" || !TABLE_NAME.test(value)) {
    throw new ConfigurationError(`${what}: a table name must match ${TABLE_NAME.source}, got ${describeValue(value)}`);
  }
  return value;
}

/** A short, printable description of an untrusted value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (value === null) return "null";
  return typeof value;
}

/** An options argument: undefined or a plain object; its own properties only are read by the callers. */
export function optionsObject<T extends object>(value: unknown, what: string): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ConfigurationError(`${what}: options must be an object, got ${describeValue(value)}`);
  const own: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(value)) own[name] = (value as Record<string, unknown>)[name];
  return own as Partial<T>;
}

/** A positive integer option with a default and a ceiling. */
export function intOption(value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${what} must be an integer in [${min}, ${max}], got ${typeof value === "number" ? String(value) : describeValue(value)}`);
  }
  return value;
}

/**
 * What the three dead-letter tables share: turning a dead letter into a row
 * (checked, so nothing reaches a database that it would truncate, mangle or
 * refuse halfway), a row back into a dead letter, the filters as SQL, and
 * entry ids. Only the placeholders and the statements differ by dialect.
 */
import { ConfigurationError, DecodeError, MessageTooLargeError } from "../../errors.js";
import { emptyHeaders } from "../../envelope/wire.js";
import { DiagnosticHeaders } from "../../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterQuery, DeadLetterSummary } from "../../transport/transport.js";
import { sortSummary } from "../../transport/dead-letter-query.js";
import type { NewDeadLetter } from "../dead-letters.js";
import { indexedKey } from "./ids.js";
import { intOption } from "./names.js";

/** Default bound on one entry (headers JSON + body + id + key), bytes: under MariaDB's default 16 MiB packet. */
export const DEFAULT_MAX_ENTRY_BYTES = 8 * 1024 * 1024;
/** MySQL's MEDIUMTEXT holds 16 MiB − 1: the bound every dialect keeps, so the suite reads the same on all three. */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024 - 1;
/** MySQL's VARCHAR(255) for group and topic. */
const MAX_NAME = 255;
/** Kept when a row's headers column is not a JSON object (written by hand): the text, so nothing is lost. */
export const BAD_HEADERS_HEADER = "x-missive-bad-headers";

export interface DeadLetterSettings {
  readonly maxEntryBytes: number;
}

export interface DeadLetterStoreOptions {
  /** Largest entry (headers JSON + body + message id + key) the store takes, bytes; a larger one is refused with MessageTooLargeError. Default 8 MiB, at most 16 MiB − 1. */
  readonly maxEntryBytes?: number;
}

export function deadLetterSettings(o: Partial<DeadLetterStoreOptions>, what: string): DeadLetterSettings {
  return { maxEntryBytes: intOption(o.maxEntryBytes, DEFAULT_MAX_ENTRY_BYTES, 1024, MAX_ENTRY_BYTES, `${what} maxEntryBytes`) };
}

/** The columns, in the order of `rowValues`. */
export const INSERT_COLUMNS = "group_name, topic, message_id, message_key, msg_key, headers, body, error_code, error_class, dead_lettered_at";
export const SELECT_COLUMNS = "entry_id, group_name, topic, message_id, msg_key, headers, body, dead_lettered_at";

// A NUL cannot be stored in PostgreSQL text, and a lone surrogate becomes U+FFFD in UTF-8: either would change the value.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function text(value: unknown, what: string, store: string, maxChars?: number): string {
  if (typeof value !== "string" || value === "") throw new ConfigurationError(`${store}: a dead letter's ${what} must be a non-empty string`);
  if (UNSTORABLE.test(value)) throw new DecodeError(`${store}: the dead letter's ${what} holds a NUL character or a lone surrogate, which the database cannot store exactly; the message is left to come back`);
  if (maxChars !== undefined && value.length > maxChars) {
    throw new MessageTooLargeError(`${store}: the dead letter's ${what} is ${value.length} characters, the store takes at most ${maxChars}`);
  }
  return value;
}

/** A dead letter as column values (INSERT_COLUMNS order). Throws MessageTooLargeError, DecodeError or ConfigurationError, before any write. */
export function rowValues(entry: NewDeadLetter, settings: DeadLetterSettings, store: string): Array<string | number | Buffer | null> {
  if (entry === null || typeof entry !== "object") throw new ConfigurationError(`${store}: add needs a dead letter`);
  const group = text(entry.group, "group", store, MAX_NAME);
  const topic = text(entry.topic, "type", store, MAX_NAME);
  const messageId = text(entry.messageId, "message id", store);
  const key = entry.key === undefined ? null : text(entry.key, "key", store);
  const wire = entry.wire;
  if (wire === null || typeof wire !== "object" || !(wire.body instanceof Uint8Array) || wire.headers === null || typeof wire.headers !== "object") {
    throw new ConfigurationError(`${store}: a dead letter's wire must be { headers, body: Uint8Array }`);
  }
  if (!Number.isSafeInteger(entry.deadLetteredAt) || entry.deadLetteredAt < 0) throw new ConfigurationError(`${store}: deadLetteredAt must be a unix time in ms`);
  // JSON escapes every character (NUL and lone surrogates included), so the headers always round-trip exactly.
  const headers = JSON.stringify(wire.headers);
  const bytes = Buffer.byteLength(headers) + wire.body.byteLength + Buffer.byteLength(messageId) + (key === null ? 0 : Buffer.byteLength(key));
  if (bytes > settings.maxEntryBytes) {
    throw new MessageTooLargeError(`${store}: the dead letter is ${bytes} bytes (headers, body, id, key), the store takes at most ${settings.maxEntryBytes} (maxEntryBytes); the message is left to come back`);
  }
  const body = Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength);
  const code = wire.headers[DiagnosticHeaders.errorCode];
  const className = wire.headers[DiagnosticHeaders.errorClass];
  return [group, topic, messageId, indexedKey(messageId), key, headers, body, diagnosticKey(code), diagnosticKey(className), entry.deadLetteredAt];
}

const diagnosticKey = (value: unknown): string | null => (typeof value === "string" && value !== "" ? indexedKey(value) : null);

/** WHERE clause (with a leading space) and its parameters; `ph(n)` is the n-th placeholder (1-based). */
export function whereOf(query: DeadLetterQuery | undefined, ph: (n: number) => string, afterEntry?: number): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, op: string, value: unknown): void => {
    params.push(value);
    where.push(`${column} ${op} ${ph(params.length)}`);
  };
  if (query?.group !== undefined) add("group_name", "=", query.group);
  if (query?.topic !== undefined) add("topic", "=", query.topic);
  // The key column finds it by index; the id column makes it exact (a hash names one id, but compare anyway).
  if (query?.messageId !== undefined) {
    add("message_key", "=", indexedKey(query.messageId));
    add("message_id", "=", query.messageId);
  }
  if (query?.errorCode !== undefined) add("error_code", "=", indexedKey(query.errorCode));
  if (query?.errorClass !== undefined) add("error_class", "=", indexedKey(query.errorClass));
  if (query?.since !== undefined) add("dead_lettered_at", ">=", Math.ceil(query.since));
  if (query?.until !== undefined) add("dead_lettered_at", "<=", Math.floor(query.until));
  if (afterEntry !== undefined) add("entry_id", ">", afterEntry);
  return { sql: where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`, params };
}

/** Entry ids are the table's integer keys as decimal strings; anything else names no entry. */
export function entryNumber(entryId: unknown): number | undefined {
  return typeof entryId === "string" && /^[1-9][0-9]{0,14}$/.test(entryId) ? Number(entryId) : undefined;
}

export function entryNumbers(entryIds: readonly string[]): number[] {
  if (!Array.isArray(entryIds)) throw new ConfigurationError("dead-letter entry ids must be an array of strings");
  const out = new Set<number>();
  for (const id of entryIds) {
    const n = entryNumber(id);
    if (n !== undefined) out.add(n);
  }
  return [...out];
}

export function toDeadLetter(r: Record<string, unknown>): DeadLetter {
  return {
    entryId: String(r["entry_id"]),
    messageId: String(r["message_id"]),
    group: String(r["group_name"]),
    topic: String(r["topic"]),
    key: r["msg_key"] === null || r["msg_key"] === undefined ? undefined : String(r["msg_key"]),
    wire: { headers: decodeHeaders(r["headers"]), body: Buffer.isBuffer(r["body"]) ? r["body"] : Buffer.from(String(r["body"] ?? "")) },
    deadLetteredAt: Number(r["dead_lettered_at"]),
  };
}

/** Headers as stored; a row someone wrote by hand with other text keeps that text under one header rather than losing it. */
function decodeHeaders(value: unknown): Record<string, string> {
  const out = emptyHeaders();
  const raw = Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    out[BAD_HEADERS_HEADER] = raw.slice(0, 4096);
    return out;
  }
  for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === "string") out[name] = v;
  return out;
}

export const SUMMARY_SELECT = "SELECT topic, error_code, error_class, COUNT(*) AS n, MIN(dead_lettered_at) AS first_at, MAX(dead_lettered_at) AS last_at";
export const SUMMARY_GROUP = " GROUP BY topic, error_code, error_class";

export function toSummary(rows: ReadonlyArray<Record<string, unknown>>): DeadLetterSummary[] {
  const opt = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
  return sortSummary(rows.map((r) => ({
    topic: String(r["topic"]), errorCode: opt(r["error_code"]), errorClass: opt(r["error_class"]),
    count: Number(r["n"]), firstDeadLetteredAt: Number(r["first_at"]), lastDeadLetteredAt: Number(r["last_at"]),
  })));
}

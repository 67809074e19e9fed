/**
 * A failure signature (the dashboard's failure groups, and the index a
 * dead-letter store may keep of them): what makes two dead letters "the same failure", so an
 * operator sees one group of 10,000 instead of 10,000 rows. The store already
 * groups by type × error code × error class; the error message is added with
 * everything that varies per message taken out (uuids, long hex strings,
 * numbers, quoted values, ids like `o-42`), as ServicePulse groups by
 * exception but finer: "order o-42 rejected" and "order o-97 rejected" are one
 * group, "order o-42 out of stock" another.
 */
import { DiagnosticHeaders } from "./diagnostic-prefix.js";

/** The parts of a signature; `undefined` where the dead letter carries no such diagnostic. */
export interface FailureSignature {
  readonly type: string;
  readonly errorCode: string | undefined;
  readonly errorClass: string | undefined;
  /** The error message with its varying parts replaced by placeholders. */
  readonly pattern: string;
}

/** Longest pattern kept: a message is cut here before normalising, so a huge message cannot make a huge key. */
const MAX_MESSAGE = 300;

/** A quoted value; a single quote only when it does not sit inside a word (don't, won't). */
const QUOTED = /"(?:[^"\\]|\\.)*"|(?<!\w)'(?:[^'\\]|\\.)*'(?!\w)/g;
/** A word, or words joined by - _ . : / (o-42, ORD-2024-0001, 30.5s, a uuid): what is judged as one value. */
const TOKEN = /[A-Za-z0-9]+(?:[-_.:/][A-Za-z0-9]+)*/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Hex of 8 characters or more with a digit and a letter (hashes, object ids). */
const HEX = /^(?:0x)?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}$/i;
/** A number, with decimals and a unit maybe: 3, 30.5s, 250ms, 12kb, 99%. */
const NUMBER = /^\d+(?:\.\d+)?(?:ms|s|m|h|d|b|kb|kib|mb|mib|gb|gib)?$/i;

function placeholder(token: string): string {
  if (UUID.test(token)) return "<uuid>";
  if (HEX.test(token)) return "<hex>";
  if (NUMBER.test(token)) return "<num>";
  return /\d/.test(token) ? "<id>" : token;
}

/** The message with its varying parts replaced by `<str>` (quoted), `<uuid>`, `<hex>`, `<num>` and `<id>` (a word holding a digit). */
export function normaliseMessage(message: string | undefined): string {
  if (message === undefined || message === "") return "";
  const text = message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message;
  return text.replace(QUOTED, "<str>").replace(TOKEN, placeholder).replace(/\s+/g, " ").trim();
}

/** A stable string key of a signature, the id a group is addressed by in the API. */
export function signatureKey(s: FailureSignature): string {
  return JSON.stringify([s.type, s.errorCode ?? null, s.errorClass ?? null, s.pattern]);
}

/** Parses a key made by signatureKey; undefined when it is not one. */
export function parseSignatureKey(key: string): FailureSignature | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    // Not JSON: not a key this module made; the caller answers 400.
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
  const [type, errorCode, errorClass, pattern] = parsed as unknown[];
  const optional = (v: unknown): v is string | null => v === null || typeof v === "string";
  if (typeof type !== "string" || !optional(errorCode) || !optional(errorClass) || typeof pattern !== "string") return undefined;
  return { type, errorCode: errorCode ?? undefined, errorClass: errorClass ?? undefined, pattern };
}

export function sameSignature(a: FailureSignature, b: FailureSignature): boolean {
  return a.type === b.type && a.errorCode === b.errorCode && a.errorClass === b.errorClass && a.pattern === b.pattern;
}

/** The signature of a dead letter from its type and its diagnostic headers (what a store can compute without the admin). */
export function signatureFromHeaders(type: string, headers: Readonly<Record<string, string>>): FailureSignature {
  return {
    type,
    errorCode: headers[DiagnosticHeaders.errorCode],
    errorClass: headers[DiagnosticHeaders.errorClass],
    pattern: normaliseMessage(headers[DiagnosticHeaders.errorMessage]),
  };
}

/**
 * Dead-letter diagnostics (docs/contract.md §6): everything an operator needs, under
 * one header prefix, within a size budget so dead-lettering never fails on
 * oversized headers. Earlier diagnostics are replaced, not piled up.
 */
import { hostname } from "node:os";
import { ErrorCodes, isMissiveError } from "../errors.js";
import { DIAGNOSTIC_PREFIX, DiagnosticHeaders, withoutDiagnostics } from "../transport/diagnostic-prefix.js";
import { MISSIVE_VERSION } from "../version.js";

export { DIAGNOSTIC_PREFIX, DiagnosticHeaders, withoutDiagnostics };


export interface FailureInfo {
  readonly error: unknown;
  readonly reason: string;
  readonly attempts: number;
  /** Unix ms of the first failure of this message (from its retry headers), or now. */
  readonly firstFailureAt: number;
  readonly failedAt: number;
  readonly topic: string;
  readonly group: string;
}

/** Per-field budgets, bytes: the whole set stays under ~3 KiB. */
const MESSAGE_BUDGET = 512;
const STACK_BUDGET = 2048;
const HOST = hostname().slice(0, 128);

export function deadLetterHeaders(original: Readonly<Record<string, string>>, info: FailureInfo): Record<string, string> {
  const out = withoutDiagnostics(original);
  const err = info.error;
  out[DiagnosticHeaders.errorClass] = truncate(err instanceof Error ? text(err.name) : typeof err, 128);
  writeFailure(out, err, info.attempts, info.firstFailureAt);
  out[DiagnosticHeaders.errorStack] = truncate(err instanceof Error ? text(err.stack ?? "") : "", STACK_BUDGET);
  out[DiagnosticHeaders.reason] = info.reason;
  out[DiagnosticHeaders.lastFailure] = new Date(info.failedAt).toISOString();
  out[DiagnosticHeaders.source] = truncate(info.topic, 256);
  out[DiagnosticHeaders.group] = truncate(info.group, 256);
  out[DiagnosticHeaders.host] = HOST;
  out[DiagnosticHeaders.version] = MISSIVE_VERSION;
  return out;
}

/** Headers for a message going back for another attempt: the original plus the retry bookkeeping. */
export function retryHeaders(original: Readonly<Record<string, string>>, attempts: number, firstFailureAt: number, error: unknown): Record<string, string> {
  const out = withoutDiagnostics(original);
  writeFailure(out, error, attempts, firstFailureAt);
  return out;
}

/** What retry bookkeeping and dead-letter diagnostics both record: the error, how many attempts, since when. */
function writeFailure(out: Record<string, string>, error: unknown, attempts: number, firstFailureAt: number): void {
  out[DiagnosticHeaders.errorCode] = truncate(isMissiveError(error) ? error.code : codeOf(error), 128);
  out[DiagnosticHeaders.errorMessage] = truncate(messageOf(error), MESSAGE_BUDGET);
  out[DiagnosticHeaders.attempts] = String(attempts);
  out[DiagnosticHeaders.firstFailure] = new Date(firstFailureAt).toISOString();
}

export interface RetryState {
  readonly attempts: number;
  readonly firstFailureAt: number | undefined;
}

const NEVER_RETRIED: RetryState = Object.freeze({ attempts: 0, firstFailureAt: undefined });

/** Attempts recorded on an earlier retry (0 when none), and when the first failure happened. */
export function readRetryState(headers: Readonly<Record<string, string>>): RetryState {
  const raw = headers[DiagnosticHeaders.attempts];
  // A first delivery (no retry headers), the common case: one shared answer, nothing allocated.
  if (raw === undefined && headers[DiagnosticHeaders.firstFailure] === undefined) return NEVER_RETRIED;
  const n = raw === undefined ? 0 : Number.parseInt(raw, 10);
  const ff = headers[DiagnosticHeaders.firstFailure];
  const t = ff === undefined ? Number.NaN : Date.parse(ff);
  return { attempts: Number.isFinite(n) && n > 0 && n < 1e9 ? n : 0, firstFailureAt: Number.isFinite(t) ? t : undefined };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? text(err.message) : text(err);
}

/**
 * String(value) that never throws: a handler may throw a null-prototype object or one whose
 * toString throws, and describing it must not make dead-lettering fail (the message would
 * then be redelivered for ever instead of dead-lettered).
 */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "[unprintable]";
    }
  }
}

/** An error's string `code` (a MissiveError's, or a Node system error's), else MISSIVE_UNKNOWN. */
export function codeOf(err: unknown): string {
  if (err !== null && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return ErrorCodes.UNKNOWN;
}

const TRUNCATED = "…[truncated]";
const TRUNCATED_BYTES = Buffer.byteLength(TRUNCATED);

/** Cut a string to at most `maxBytes` UTF-8 bytes without splitting a character; header-safe (no CR/LF). */
export function truncate(value: string, maxBytes: number): string {
  const clean = value.replace(/[\r\n]+/g, " | ");
  if (Buffer.byteLength(clean) <= maxBytes) return clean;
  // A budget too small for the marker gets the bare cut rather than going over budget.
  const suffix = maxBytes >= TRUNCATED_BYTES ? TRUNCATED : "";
  const buf = Buffer.from(clean);
  let end = Math.max(0, maxBytes - Buffer.byteLength(suffix));
  // buf[end] is the first byte left out: while it continues a character, the cut is inside that
  // character, so move back to where it starts. A cut on a character boundary stays where it is.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8") + suffix;
}

/** The diagnostics of a dead letter, read back for operators (the CLI, the dashboard). */
export interface DeadLetterDiagnostics {
  readonly errorClass: string | undefined;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly errorStack: string | undefined;
  /** Why it was dead-lettered: `poison`, `attempts-exhausted`, … */
  readonly reason: string | undefined;
  readonly attempts: number | undefined;
  /** Unix ms, when known. */
  readonly firstFailureAt: number | undefined;
  readonly lastFailureAt: number | undefined;
  readonly source: string | undefined;
  readonly group: string | undefined;
  readonly host: string | undefined;
  readonly version: string | undefined;
}

export function readDiagnostics(headers: Readonly<Record<string, string>>): DeadLetterDiagnostics {
  const h = DiagnosticHeaders;
  const time = (name: string): number | undefined => {
    const raw = headers[name];
    const t = raw === undefined ? Number.NaN : Date.parse(raw);
    return Number.isFinite(t) ? t : undefined;
  };
  const attempts = headers[h.attempts] === undefined ? Number.NaN : Number(headers[h.attempts]);
  return {
    errorClass: headers[h.errorClass],
    errorCode: headers[h.errorCode],
    errorMessage: headers[h.errorMessage],
    errorStack: headers[h.errorStack],
    reason: headers[h.reason],
    attempts: Number.isSafeInteger(attempts) && attempts >= 0 ? attempts : undefined,
    firstFailureAt: time(h.firstFailure),
    lastFailureAt: time(h.lastFailure),
    source: headers[h.source],
    group: headers[h.group],
    host: headers[h.host],
    version: headers[h.version],
  };
}

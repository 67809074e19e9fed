/**
 * Two CloudEvents extension attributes missive gives a meaning to
 * (docs/expiry-priority.md):
 *
 * - `expiresat`: an RFC 3339 time (`2025-01-31T12:00:00.000Z`, an offset
 *   allowed) after which the message must not be handled. Absolute, so it
 *   survives retries, redeliveries and the spool unchanged; producer and
 *   consumer clocks must roughly agree.
 * - `priority`: one digit, `0` (the default) to `9`, higher first.
 *
 * Both are checked strictly when a message is decoded: a value that is not
 * one of these is a decode error, and the message is dead-lettered with it.
 */

import { isRfc3339 } from "./rfc3339.js";

/** Priority levels: 0 (the default, lowest) to 9 (highest). */
export const PRIORITY_LEVELS = 10;
export const MAX_PRIORITY = PRIORITY_LEVELS - 1;

/** Unix ms of an `expiresat` value, or undefined when it is not a valid RFC 3339 time. */
export function parseExpiresAt(value: string): number | undefined {
  if (!isRfc3339(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The priority of a `priority` value, or undefined when it is not a digit 0–9. */
export function parsePriority(value: string): number | undefined {
  if (value.length !== 1) return undefined;
  const n = value.charCodeAt(0) - 48;
  return n >= 0 && n <= MAX_PRIORITY ? n : undefined;
}

/** An `expiresat` value for unix ms `at`. */
export function formatExpiresAt(at: number): string {
  return new Date(at).toISOString();
}

/** The priority of a decoded message (its attribute is already checked): 0 when it has none. */
export function priorityOf(envelope: { readonly priority?: string }): number {
  const p = envelope.priority;
  return p === undefined ? 0 : (parsePriority(p) ?? 0);
}

/** True when a decoded message's expiry time is at or before `now`. */
export function isExpired(envelope: { readonly expiresat?: string }, now: number): boolean {
  const at = envelope.expiresat;
  if (at === undefined) return false;
  const ms = parseExpiresAt(at);
  return ms !== undefined && ms <= now;
}

/** Check a priority given in code (a contract, a publish): an integer 0–9. */
export function isPriority(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_PRIORITY;
}

/**
 * The priority of a message as stored (binary mode, the `ce-priority` header),
 * for paths that rebuild an outgoing message from a stored one (spool,
 * outbox relay, dead-letter replay); undefined when it has none or it is in
 * a structured body.
 */
export function wirePriority(headers: Readonly<Record<string, string>>): number | undefined {
  const p = headers["ce-priority"];
  return p === undefined ? undefined : parsePriority(p);
}

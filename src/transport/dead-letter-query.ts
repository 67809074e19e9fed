/**
 * Dead-letter queries, the same for every store: one check of a filter's
 * values, and the in-memory matching and summarising a store can use when
 * its broker cannot filter for it (SQLite filters in SQL instead).
 */
import { ConfigurationError } from "../errors.js";
import { DiagnosticHeaders } from "./diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterSummary } from "./transport.js";

/** `list` returns at most this many entries unless the filter asks for another limit. */
export const DEFAULT_LIST_LIMIT = 1000;
/** Largest page a store hands out at once, so one call never holds a whole store in memory. */
export const MAX_LIST_LIMIT = 10_000;

/** The page size a filter asks for, checked. Throws ConfigurationError. */
export function limitOf(filter: DeadLetterFilter | undefined): number {
  const limit = filter?.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIST_LIMIT) {
    throw new ConfigurationError(`dead-letter filter limit must be an integer from 0 to ${MAX_LIST_LIMIT}, got ${String(limit)}`);
  }
  return limit;
}

/** Throws ConfigurationError when a query's values cannot mean anything (a store then never sees them). */
export function checkQuery(query: DeadLetterQuery | undefined): void {
  if (query === undefined) return;
  if (typeof query !== "object" || query === null) throw new ConfigurationError("a dead-letter query must be an object");
  for (const name of ["group", "topic", "errorCode", "errorClass", "messageId"] as const) {
    const value = query[name];
    if (value !== undefined && typeof value !== "string") throw new ConfigurationError(`dead-letter query ${name} must be a string, got ${typeof value}`);
  }
  for (const name of ["since", "until"] as const) {
    const value = query[name];
    if (value !== undefined && !Number.isFinite(value)) throw new ConfigurationError(`dead-letter query ${name} must be a unix time in ms, got ${String(value)}`);
  }
}

/** The error diagnostics of an entry, as stores filter and group by them. */
export function errorOf(entry: DeadLetter): { code: string | undefined; className: string | undefined } {
  const h = entry.wire.headers;
  return { code: h[DiagnosticHeaders.errorCode], className: h[DiagnosticHeaders.errorClass] };
}

export function matchesQuery(entry: DeadLetter, query: DeadLetterQuery | undefined): boolean {
  if (query === undefined) return true;
  if (query.group !== undefined && entry.group !== query.group) return false;
  if (query.topic !== undefined && entry.topic !== query.topic) return false;
  if (query.messageId !== undefined && entry.messageId !== query.messageId) return false;
  if (query.since !== undefined && entry.deadLetteredAt < query.since) return false;
  if (query.until !== undefined && entry.deadLetteredAt > query.until) return false;
  if (query.errorCode !== undefined || query.errorClass !== undefined) {
    const error = errorOf(entry);
    if (query.errorCode !== undefined && error.code !== query.errorCode) return false;
    if (query.errorClass !== undefined && error.className !== query.errorClass) return false;
  }
  return true;
}

/** Group entries by type × error: most frequent first, then by type for a stable order. */
export function summarise(entries: Iterable<DeadLetter>): DeadLetterSummary[] {
  const groups = new Map<string, { topic: string; errorCode: string | undefined; errorClass: string | undefined; count: number; first: number; last: number }>();
  for (const entry of entries) {
    const error = errorOf(entry);
    const id = JSON.stringify([entry.topic, error.code ?? null, error.className ?? null]);
    const g = groups.get(id);
    if (g === undefined) {
      groups.set(id, { topic: entry.topic, errorCode: error.code, errorClass: error.className, count: 1, first: entry.deadLetteredAt, last: entry.deadLetteredAt });
    } else {
      g.count++;
      g.first = Math.min(g.first, entry.deadLetteredAt);
      g.last = Math.max(g.last, entry.deadLetteredAt);
    }
  }
  return sortSummary([...groups.values()].map((g) => ({
    topic: g.topic, errorCode: g.errorCode, errorClass: g.errorClass, count: g.count, firstDeadLetteredAt: g.first, lastDeadLetteredAt: g.last,
  })));
}

export function sortSummary(rows: DeadLetterSummary[]): DeadLetterSummary[] {
  return rows.sort((a, b) => b.count - a.count || compare(a.topic, b.topic) || compare(a.errorCode ?? "", b.errorCode ?? "") || compare(a.errorClass ?? "", b.errorClass ?? ""));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

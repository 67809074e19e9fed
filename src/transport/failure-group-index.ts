/**
 * An optional ability of a dead-letter store: failure groups (signatures,
 * failure-signature.ts) counted by the store itself from an index it keeps,
 * so grouping a store of a million entries reads a summary instead of every
 * entry. A store without it is grouped by reading its entries (bounded), as
 * before; so is a query this one cannot answer from its index (it answers
 * `undefined`).
 */
import type { DeadLetterStore } from "./transport.js";

/** One signature's entries from one consumer group. */
export interface IndexedFailureGroup {
  /** signatureKey() of the signature. */
  readonly signature: string;
  readonly group: string;
  readonly count: number;
  readonly firstDeadLetteredAt: number;
  readonly lastDeadLetteredAt: number;
  /** Entries dead-lettered at or after `now - 5 min` and `now - 1 h`. */
  readonly recent5m: number;
  readonly recent1h: number;
  /** The newest entry (its error message is the group's example). */
  readonly newestEntryId: string;
}

export interface FailureGroupIndex {
  /** Every signature × group of the entries of `group` (or of all), or `undefined` when the index cannot answer. */
  failureGroups(query: { readonly group?: string }, now: number): Promise<IndexedFailureGroup[] | undefined>;
  /** Entry ids of one signature (of `group`, or of all), oldest first, after `after`, at most `limit`. */
  entriesOf(signature: string, query: { readonly group?: string; readonly after?: string; readonly limit: number }): Promise<string[]>;
}

export function hasFailureGroupIndex<T extends DeadLetterStore>(store: T): store is T & FailureGroupIndex {
  return typeof (store as Partial<FailureGroupIndex>).failureGroups === "function";
}

/**
 * The memory broker's dead-letter store, as the seam's DeadLetterStore.
 * Entries live in the broker, so every transport of one broker sees the
 * same store. Replay puts a message back at the end of its own group's
 * queue with the same id (the inbox still deduplicates it), the `missive-*`
 * diagnostics stripped and a fresh attempt count.
 */
import type { WireMessage } from "../../envelope/wire.js";
import { checkQuery, limitOf, matchesQuery, summarise } from "../../transport/dead-letter-query.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore } from "../../transport/transport.js";
import { copyHeaders, type BrokerState, type StoredDeadLetter } from "./broker-state.js";

/** A copy for the caller: editing it does not edit the store. */
function toDeadLetter(e: StoredDeadLetter): DeadLetter {
  return { entryId: e.entryId, messageId: e.id, group: e.group, topic: e.topic, key: e.key, wire: { headers: copyHeaders(e.wire.headers), body: e.wire.body }, deadLetteredAt: e.deadLetteredAt };
}

// Entry ids are increasing integers as strings; `after` compares them as numbers.
function entryNumber(entryId: string): number {
  return /^[1-9][0-9]{0,15}$/.test(entryId) ? Number(entryId) : Number.NaN;
}

function* matching(state: BrokerState, query: DeadLetterQuery | undefined, after?: string): Generator<DeadLetter> {
  const from = after === undefined ? 0 : entryNumber(after);
  if (Number.isNaN(from)) return;
  for (const entry of state.deadLetters.values()) {
    if (entryNumber(entry.entryId) <= from) continue;
    const view = toDeadLetter(entry);
    if (matchesQuery(view, query)) yield view;
  }
}

export function createDeadLetterStore(state: BrokerState): DeadLetterStore {
  // Each call resolves on a later microtask, like a round trip to a broker.
  const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);
  const requeue = (entryId: string, wireOf: (e: StoredDeadLetter) => WireMessage): boolean => {
    const entry = state.deadLetters.get(entryId);
    if (entry === undefined) return false;
    // A group that no longer exists (a closed temporary group) has nowhere to go: the entry stays.
    const group = state.groups.get(entry.group);
    if (group === undefined) return false;
    state.enqueue(group, { id: entry.id, topic: entry.topic, key: entry.key, priority: 0, wire: wireOf(entry) }, 0);
    state.deadLetters.delete(entryId);
    state.counters.replayed++;
    return true;
  };
  return {
    list: (filter?: DeadLetterFilter) =>
      later(() => {
        checkQuery(filter);
        const limit = limitOf(filter);
        const out: DeadLetter[] = [];
        if (limit === 0) return out;
        for (const entry of matching(state, filter, filter?.after)) if (out.push(entry) >= limit) break;
        return out;
      }),
    get: (entryId) =>
      later(() => {
        const entry = state.deadLetters.get(entryId);
        return entry === undefined ? undefined : toDeadLetter(entry);
      }),
    count: (query) =>
      later(() => {
        checkQuery(query);
        let n = 0;
        for (const _ of matching(state, query)) n++;
        return n;
      }),
    summary: (query) =>
      later(() => {
        checkQuery(query);
        return summarise(matching(state, query));
      }),
    replay: (entryIds) =>
      later(() => {
        let moved = 0;
        for (const entryId of new Set(entryIds)) if (requeue(entryId, (e) => ({ headers: withoutDiagnostics(e.wire.headers), body: e.wire.body }))) moved++;
        return moved;
      }),
    replayEdited: (entryId, wire) => later(() => requeue(entryId, () => ({ headers: copyHeaders(wire.headers), body: wire.body }))),
    discard: (entryIds) =>
      later(() => {
        let removed = 0;
        for (const entryId of new Set(entryIds)) if (state.deadLetters.delete(entryId)) removed++;
        return removed;
      }),
  };
}

/**
 * The memory broker's dead-letter store, as the seam's DeadLetterStore.
 * Entries live in the broker, so every transport of one broker sees the
 * same store. Replay puts a message back at the end of its own group's
 * queue with the same id (the inbox still deduplicates it), the `missive-*`
 * diagnostics stripped and a fresh attempt count.
 */
import type { DeadLetter, DeadLetterFilter, DeadLetterStore } from "../../transport/transport.js";
import { copyHeaders, type BrokerState, type StoredDeadLetter } from "./broker-state.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";

function matches(entry: StoredDeadLetter, filter: DeadLetterFilter | undefined): boolean {
  if (filter?.group !== undefined && entry.group !== filter.group) return false;
  if (filter?.topic !== undefined && entry.topic !== filter.topic) return false;
  return true;
}

function select(state: BrokerState, filter: DeadLetterFilter | undefined): StoredDeadLetter[] {
  const limit = filter?.limit ?? Infinity;
  const out: StoredDeadLetter[] = [];
  for (const entry of state.deadLetters.values()) {
    if (out.length >= limit) break;
    if (matches(entry, filter)) out.push(entry);
  }
  return out;
}

/** A copy for the caller: editing it does not edit the store. */
function toDeadLetter(e: StoredDeadLetter): DeadLetter {
  return { entryId: e.entryId, group: e.group, topic: e.topic, key: e.key, wire: { headers: copyHeaders(e.wire.headers), body: e.wire.body }, deadLetteredAt: e.deadLetteredAt };
}

export function createDeadLetterStore(state: BrokerState): DeadLetterStore {
  // Each call resolves on a later microtask, like a round trip to a broker.
  const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);
  return {
    list: (filter) => later(() => select(state, filter).map(toDeadLetter)),
    count: (filter) => later(() => select(state, filter).length),
    replay: (entryIds) =>
      later(() => {
        let moved = 0;
        for (const entryId of new Set(entryIds)) {
          const entry = state.deadLetters.get(entryId);
          if (entry === undefined) continue;
          // A group that no longer exists (a closed temporary group) has nowhere to go: the entry stays.
          const group = state.groups.get(entry.group);
          if (group === undefined) continue;
          state.enqueue(group, { id: entry.id, topic: entry.topic, key: entry.key, wire: { headers: withoutDiagnostics(entry.wire.headers), body: entry.wire.body } }, 0);
          state.deadLetters.delete(entryId);
          state.counters.replayed++;
          moved++;
        }
        return moved;
      }),
    discard: (entryIds) =>
      later(() => {
        let removed = 0;
        for (const entryId of new Set(entryIds)) if (state.deadLetters.delete(entryId)) removed++;
        return removed;
      }),
  };
}

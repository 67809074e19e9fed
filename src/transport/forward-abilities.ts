/**
 * Forwarding abilities through a wrapper. A wrapper around a transport
 * (late-connect.ts, the runtime delay fill) must keep every ability the
 * inner transport has, or the runtime and the CLI would see a lesser broker
 * than the real one. ABILITY_METHODS lists them all, so a new ability is
 * forwarded by every wrapper without any of them naming it.
 */
import { ABILITY_METHODS, hasNativeDeadLetters } from "./abilities.js";
import { hasFailureGroupIndex } from "./failure-group-index.js";
import type { DeadLetterStore, Transport } from "./transport.js";

/** What a wrapper does around each forwarded call (e.g. wait for the connection first). */
export type AroundCall = <R>(call: () => Promise<R>) => Promise<R>;

/** Give `outer` every ability `inner` has; each call goes through `around` when given, straight through otherwise. */
export function forwardAbilities(outer: Transport, inner: Transport, around?: AroundCall): void {
  const target = outer as unknown as Record<string, unknown>;
  const source = inner as unknown as Record<string, unknown>;
  for (const method of ABILITY_METHODS) {
    const fn = source[method];
    if (typeof fn !== "function") continue;
    const call = (...args: unknown[]): Promise<unknown> => (fn as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
    target[method] = around === undefined ? call : (...args: unknown[]): Promise<unknown> => around(() => call(...args));
  }
  if (hasNativeDeadLetters(inner)) target["deadLetters"] = around === undefined ? inner.deadLetters : storeAround(inner.deadLetters, around);
}

/** The dead-letter store with each call made through `around`. */
function storeAround(store: DeadLetterStore, around: AroundCall): DeadLetterStore {
  const wrapped: DeadLetterStore = {
    list: (filter) => around(() => store.list(filter)),
    get: (entryId) => around(() => store.get(entryId)),
    count: (query) => around(() => store.count(query)),
    summary: (query) => around(() => store.summary(query)),
    replay: (entryIds) => around(() => store.replay(entryIds)),
    replayEdited: (entryId, wire) => around(() => store.replayEdited(entryId, wire)),
    discard: (entryIds) => around(() => store.discard(entryIds)),
  };
  if (!hasFailureGroupIndex(store)) return wrapped;
  return Object.assign(wrapped, {
    failureGroups: (query: { readonly group?: string }, now: number) => around(() => store.failureGroups(query, now)),
    entriesOf: (signature: string, query: { readonly group?: string; readonly after?: string; readonly limit: number }) => around(() => store.entriesOf(signature, query)),
  });
}

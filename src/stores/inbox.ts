/**
 * The inbox port: remembers which (consumer group, message id) pairs were
 * handled, in the same transaction as the handler's own writes, so a
 * redelivered message has no second effect.
 */
import { ConfigurationError } from "../errors.js";
import type { Delivery } from "../transport/transport.js";

export type InboxOutcome<R> =
  | { readonly duplicate: true }
  | { readonly duplicate: false; readonly value: R; readonly acked: boolean };

export interface InboxStore<TTx> {
  /** Short name for logs (`sqlite`, `memory`, `postgres`). */
  readonly name: string;
  /**
   * In one transaction: insert (group, messageId), run `effects(tx)`, and,
   * when `delivery` belongs to this store's own database, ack it too
   * (`acked: true`). When the row already exists nothing runs and the
   * outcome is `duplicate`. An error from `effects` rolls everything back and
   * is rethrown.
   */
  runOnce<R>(group: string, messageId: string, delivery: Delivery, effects: (tx: TTx) => R): Promise<InboxOutcome<R>>;
  /** Whether (group, messageId) was recorded: a cheap check before running a handler. */
  seen(group: string, messageId: string): Promise<boolean>;
  /** Delete rows recorded more than `olderThanMs` ago; resolves with how many. */
  cleanup(olderThanMs: number): Promise<number>;
  /**
   * Optional: run when a consumer using this store starts. Rejects (a
   * ConfigurationError naming the migration) when the store cannot work,
   * e.g. its table was never created; the consumer then fails to start.
   */
  check?(): Promise<void>;
}

const METHODS = ["runOnce", "seen", "cleanup"] as const;

/**
 * Checks that `value` is an inbox store, not what one is made from: passing
 * the pool, or the factory uncalled, would otherwise fail at the first
 * message. The error carries the line to write instead.
 */
export function checkInboxStore(value: unknown, what = "inbox"): InboxStore<unknown> {
  const v = value as Partial<Record<(typeof METHODS)[number], unknown>> | null;
  if (v === null || typeof v !== "object" || METHODS.some((m) => typeof v[m] !== "function")) {
    throw new ConfigurationError(
      `${what} must be an inbox store, made from your database's pool or handle, e.g. \`${what}: postgresInbox({ pool })\` ` +
        `with \`import { postgresInbox } from "missive/stores/postgres"\` (or mysqlInbox from "missive/stores/mysql", sqliteInboxStore from "missive/stores/sqlite")`,
    );
  }
  return value as InboxStore<unknown>;
}

/**
 * For inbox stores whose transactions are synchronous (SQLite, memory): a
 * callback that returned a promise did its writes outside the transaction.
 * Throws ConfigurationError with `message` (the store then rolls back), and
 * keeps the abandoned promise from surfacing as an unhandled rejection.
 */
export function assertSynchronousEffects(value: unknown, message: string): void {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return;
  const then = (value as { then?: unknown }).then;
  if (typeof then !== "function") return;
  // The ConfigurationError below is the answer; the abandoned promise's own outcome is moot.
  Promise.resolve(value).catch(() => undefined);
  throw new ConfigurationError(message);
}

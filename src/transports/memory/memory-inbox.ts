/**
 * The memory inbox: an InboxStore whose "transaction" is one synchronous
 * step. Check, insert, the handler's effects, their commit callbacks and
 * the ack of a memory delivery all happen with no await in between, so two
 * deliveries of one message can never both run their effects. Effects must
 * therefore be synchronous: the writes they make are registered with
 * `tx.onCommit` and applied only if nothing threw.
 */
import { ConfigurationError } from "../../errors.js";
import { assertSynchronousEffects, type InboxOutcome, type InboxStore } from "../../stores/inbox.js";
import type { Delivery } from "../../transport/transport.js";
import { MemoryDelivery } from "./memory-delivery.js";

export interface MemoryTx {
  /**
   * Apply `fn` when the transaction commits; it is never called when
   * `effects` throws. It must not throw itself: the inbox row is already
   * committed by then, so an error is rethrown after the other callbacks
   * ran and the delivery was acked.
   */
  onCommit(fn: () => void): void;
}

export type MemoryInbox = InboxStore<MemoryTx>;

export function memoryInbox(): MemoryInbox {
  /** group → message id → Unix ms recorded. */
  const rows = new Map<string, Map<string, number>>();

  const runOnce = <R>(group: string, messageId: string, delivery: Delivery, effects: (tx: MemoryTx) => R): InboxOutcome<R> => {
    if (rows.get(group)?.has(messageId) === true) return { duplicate: true };
    const callbacks: Array<() => void> = [];
    let open = true;
    const tx: MemoryTx = {
      onCommit(fn) {
        if (!open) throw new ConfigurationError("memory inbox: onCommit called after the transaction ended");
        callbacks.push(fn);
      },
    };
    let value: R;
    try {
      value = effects(tx);
    } finally {
      open = false;
    }
    assertSynchronousEffects(value, "memory inbox: effects returned a promise, but memory transactions are synchronous; register writes with tx.onCommit");
    // The ack commits with the inbox row: a lost lease rolls the whole step back, as a SQL transaction would.
    const own = delivery instanceof MemoryDelivery ? delivery : undefined;
    own?.assertAckable();

    let groupRows = rows.get(group);
    if (groupRows === undefined) {
      groupRows = new Map();
      rows.set(group, groupRows);
    }
    groupRows.set(messageId, Date.now());
    let failure: { error: unknown } | undefined;
    for (const fn of callbacks) {
      try {
        fn();
      } catch (error) {
        failure ??= { error };
      }
    }
    own?.ackInTransaction();
    if (failure !== undefined) throw failure.error;
    return { duplicate: false, value, acked: own !== undefined };
  };

  return {
    name: "memory",
    runOnce<R>(group: string, messageId: string, delivery: Delivery, effects: (tx: MemoryTx) => R): Promise<InboxOutcome<R>> {
      try {
        return Promise.resolve(runOnce(group, messageId, delivery, effects));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    seen(group, messageId) {
      return Promise.resolve(rows.get(group)?.has(messageId) === true);
    },
    cleanup(olderThanMs) {
      const cutoff = Date.now() - olderThanMs;
      let removed = 0;
      for (const [group, groupRows] of rows) {
        for (const [id, recordedAt] of groupRows) {
          if (recordedAt < cutoff) {
            groupRows.delete(id);
            removed++;
          }
        }
        if (groupRows.size === 0) rows.delete(group);
      }
      return Promise.resolve(removed);
    },
  };
}

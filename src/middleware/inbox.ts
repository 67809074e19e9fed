/**
 * The inbox middleware (DESIGN.md §2): a message already handled by this group
 * is acked without running the handler again, and `ctx.transaction` records
 * (group, message id) in the same transaction as the handler's own writes.
 * A handler that never calls `ctx.transaction` still gets its inbox row,
 * committed right after it returns.
 */
import { ConfigurationError, DuplicateMessageError } from "../errors.js";
import type { Handler, Middleware } from "../runtime/handler-context.js";
import { deliveryStateOf } from "../runtime/delivery-state.js";
import type { InboxStore } from "../stores/inbox.js";

export function inboxMiddleware(store: InboxStore<unknown>): Middleware {
  return (next: Handler<unknown, unknown>): Handler<unknown, unknown> =>
    async (data, ctx) => {
      const state = deliveryStateOf(ctx);
      if (!state) throw new ConfigurationError("inbox middleware used outside a missive consumer");
      const { group } = ctx;
      const id = ctx.message.id;
      if (await store.seen(group, id)) throw new DuplicateMessageError(`message ${id} was already handled by group ${group}`);
      // One inbox transaction per attempt: the handler's own (ctx.transaction), or an empty one after it.
      const commit = async <R>(fn: (tx: unknown) => R): Promise<R> => {
        const outcome = await store.runOnce(group, id, state.delivery, fn);
        if (outcome.duplicate) throw new DuplicateMessageError(`message ${id} was handled concurrently by another delivery`);
        state.committed = true;
        if (outcome.acked) state.settled = true;
        return outcome.value;
      };
      let used = false;
      const transaction = <R>(fn: (tx: unknown) => R): Promise<R> => {
        if (used) return Promise.reject(new ConfigurationError("ctx.transaction may be called once per attempt"));
        used = true;
        return commit(fn);
      };
      await next(data, { ...ctx, transaction });
      if (!used) await commit(() => undefined);
    };
}

/**
 * The inbox (docs/contract.md §2): a message already handled by this group is acked
 * without running the handler again, and `ctx.transaction` records (group,
 * message id) in the same transaction as the handler's own writes. A handler
 * that never calls `ctx.transaction` still gets its inbox row, committed
 * right after it returns. What the transaction did (committed, acked with
 * it, found a duplicate) becomes the outcome, not a flag on the context.
 */
import { ConfigurationError, DuplicateMessageError } from "../errors.js";
import type { HandlerContext } from "../runtime/handler-context.js";
import { DUPLICATE, HANDLED, HANDLED_ACKED, failed, type StageMiddleware } from "../runtime/outcome.js";
import type { Delivery } from "../transport/transport.js";
import type { InboxStore } from "../stores/inbox.js";

export function inboxStage(store: InboxStore<unknown>, group: string): StageMiddleware {
  return (next) => async (job) => {
    const id = job.envelope.id;
    try {
      if (await store.seen(group, id)) return DUPLICATE;
    } catch (error) {
      return failed(error);
    }
    const inbox = new InboxAttempt(store, group, id, job.delivery);
    job.transaction = inbox.transaction;
    const outcome = await next(job);
    job.transaction = undefined;
    if (outcome.kind === "handled") {
      if (!inbox.used) {
        try {
          await inbox.commit(() => undefined);
        } catch (error) {
          return inbox.duplicate ? DUPLICATE : failed(error);
        }
      }
      return inbox.acked ? HANDLED_ACKED : HANDLED;
    }
    if (outcome.kind === "failed") {
      if (inbox.duplicate) return DUPLICATE;
      if (inbox.committed) return { kind: "committed-then-failed", error: outcome.error, acked: inbox.acked };
    }
    return outcome;
  };
}

/** One attempt's inbox transaction: at most one, the handler's own or an empty one after it. */
class InboxAttempt {
  used = false;
  committed = false;
  /** The ack committed with the inbox row (the queue lives in the same database). */
  acked = false;
  duplicate = false;

  constructor(
    private readonly store: InboxStore<unknown>,
    private readonly group: string,
    private readonly id: string,
    private readonly delivery: Delivery,
  ) {}

  readonly transaction: HandlerContext["transaction"] = <R>(fn: (tx: unknown) => R): Promise<R> => {
    if (this.used) return Promise.reject(new ConfigurationError("ctx.transaction may be called once per attempt"));
    return this.commit(fn);
  };

  async commit<R>(fn: (tx: unknown) => R): Promise<R> {
    this.used = true;
    const outcome = await this.store.runOnce(this.group, this.id, this.delivery, fn);
    if (outcome.duplicate) {
      this.duplicate = true;
      throw new DuplicateMessageError(`message ${this.id} was handled concurrently by another delivery of group ${this.group}`);
    }
    this.committed = true;
    this.acked = outcome.acked;
    return outcome.value;
  }
}

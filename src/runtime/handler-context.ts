import type { Envelope } from "../envelope/envelope.js";
import type { MessageDefinition, MessageInput } from "../contract/define-message.js";
import type { Logger } from "../observability/logger.js";
import type { PublishOptions, PublishReceipt } from "./publish-options.js";

/** What a handler gets besides the message's data. */
export interface HandlerContext<TTx = unknown> {
  /** The whole envelope (id, type, source, time, key, correlation…), data upcast and validated. */
  readonly message: Envelope;
  /** Which attempt this is, from 1 (crash redeliveries count). */
  readonly attempt: number;
  readonly group: string;
  /** Deterministic per (group, message): pass it to downstream APIs as their idempotency key. */
  readonly idempotencyKey: string;
  /** Aborted when the handler's timeout passes or the consumer is closing past its deadline. */
  readonly signal: AbortSignal;
  /** The bus's logger with this message's `id`, `type`, `group` and `attempt` on every line. */
  readonly log: Logger;
  /**
   * Run `fn` in the inbox's transaction: the handler's own writes, the inbox
   * row and (when the queue lives in the same database) the ack commit
   * together. Requires `idempotency: "inbox"`; at most once per attempt.
   * Rejects with DuplicateMessageError if another delivery of this message
   * committed first (the runtime then acks without a second effect).
   */
  transaction<R>(fn: (tx: TTx) => R): Promise<R>;
  /** Publish a message caused by this one (causationid = this id, correlationid carried over). */
  publish<M extends MessageDefinition<string, unknown, unknown>>(definition: M, data: MessageInput<M>, options?: PublishOptions): Promise<PublishReceipt>;
  /** Answer a request (its `replyto`). A requester that is gone is logged, not an error. */
  reply<M extends MessageDefinition<string, unknown, unknown>>(definition: M, data: MessageInput<M>): Promise<void>;
}

/** A handler after contract resolution: validated data plus context. */
export type Handler<TData = unknown, TTx = unknown> = (data: TData, ctx: HandlerContext<TTx>) => Promise<void> | void;

/** Behaviour around a handler: `(next) => handler`, composed outermost first. */
export type Middleware = (next: Handler<unknown, unknown>) => Handler<unknown, unknown>;

/**
 * The context a handler sees inside the timeout middleware: the outer
 * context's fields, with a `signal` of the attempt's own that is made only
 * when read (timeout.ts). `signal` is an own, enumerable accessor, so
 * `{ ...ctx, log }` in a user's middleware copies it (reading it) like the
 * other fields; the same descriptor object serves every context.
 */
import type { Envelope } from "../envelope/envelope.js";
import type { Logger } from "../observability/logger.js";
import type { HandlerContext } from "../runtime/handler-context.js";

/** Where the context's signal comes from: made on first read, the same one after. */
export interface SignalSource {
  signal(): AbortSignal;
}

const SIGNAL: PropertyDescriptor = {
  get(this: AttemptContext): AbortSignal {
    return this.readSignal();
  },
  enumerable: true,
  configurable: true,
};

export class AttemptContext implements HandlerContext {
  readonly message: Envelope;
  readonly attempt: number;
  readonly group: string;
  readonly idempotencyKey: string;
  declare readonly signal: AbortSignal;
  readonly log: Logger;
  readonly transaction: HandlerContext["transaction"];
  readonly publish: HandlerContext["publish"];
  readonly reply: HandlerContext["reply"];
  /** A plain signal until a timeout adopts this context (adopt), then the attempt's own source. */
  #source: SignalSource | AbortSignal;

  /** The fields one by one: the runtime builds its context here directly, with no object to copy from. */
  constructor(
    message: Envelope,
    attempt: number,
    group: string,
    idempotencyKey: string,
    log: Logger,
    transaction: HandlerContext["transaction"],
    publish: HandlerContext["publish"],
    reply: HandlerContext["reply"],
    source: SignalSource | AbortSignal,
  ) {
    this.message = message;
    this.attempt = attempt;
    this.group = group;
    this.idempotencyKey = idempotencyKey;
    this.log = log;
    this.transaction = transaction;
    this.publish = publish;
    this.reply = reply;
    this.#source = source;
    Object.defineProperty(this, "signal", SIGNAL);
  }

  /** `ctx`'s fields, with the signal from `source`. */
  static around(ctx: HandlerContext, source: SignalSource): AttemptContext {
    return new AttemptContext(ctx.message, ctx.attempt, ctx.group, ctx.idempotencyKey, ctx.log, ctx.transaction, ctx.publish, ctx.reply, source);
  }

  /**
   * Take `source` as this context's signal, when it still has the plain signal it was made with: the runtime's
   * own context reaches the default timeout with nothing but the expiry check outside it, so the timeout gives
   * it the attempt's signal instead of copying every field into a second context per attempt. False when a
   * timeout adopted it already (timeouts nested): that one copies.
   */
  adopt(source: SignalSource): boolean {
    if (!(this.#source instanceof AbortSignal)) return false;
    this.#source = source;
    return true;
  }

  /** What the `signal` accessor returns (a method, so the private source stays out of `{ ...ctx }`). */
  readSignal(): AbortSignal {
    const source = this.#source;
    return source instanceof AbortSignal ? source : source.signal();
  }
}

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
  readonly #source: SignalSource;

  constructor(ctx: HandlerContext, source: SignalSource) {
    this.message = ctx.message;
    this.attempt = ctx.attempt;
    this.group = ctx.group;
    this.idempotencyKey = ctx.idempotencyKey;
    this.log = ctx.log;
    this.transaction = ctx.transaction;
    this.publish = ctx.publish;
    this.reply = ctx.reply;
    this.#source = source;
    Object.defineProperty(this, "signal", SIGNAL);
  }

  /** What the `signal` accessor returns (a method, so the private source stays out of `{ ...ctx }`). */
  readSignal(): AbortSignal {
    return this.#source.signal();
  }
}

/**
 * Consumer rate limit: one token from the bucket before each attempt, so
 * handlers (and the downstream they call) see at most `perSecond` attempts a
 * second after the first burst. In-process retries take a token too: they hit
 * the same downstream. The consumer puts this outermost, so time spent
 * waiting for a token does not count against the handler timeout.
 *
 * When `signal` aborts (the consumer is closing) a waiting attempt stops at
 * once without running the handler: it marks the delivery given back (the
 * consumer releases it for redelivery instead of counting a failure) and
 * throws ClosedError, so even outside a missive consumer nothing is acked.
 */
import { ClosedError } from "../errors.js";
import { deliveryStateOf } from "../runtime/delivery-state.js";
import type { Handler, HandlerContext, Middleware } from "../runtime/handler-context.js";
import type { TokenBucket } from "../runtime/token-bucket.js";

export function rateLimitMiddleware(bucket: TokenBucket, signal?: AbortSignal): Middleware {
  return (next: Handler<unknown, unknown>): Handler<unknown, unknown> =>
    (data, ctx) => {
      // A token at hand: straight on, without the promise and closure of a wait.
      if (bucket.tryTake()) return next(data, ctx);
      return waitThenRun(bucket, signal ?? ctx.signal, next, data, ctx);
    };
}

async function waitThenRun(
  bucket: TokenBucket, signal: AbortSignal, next: Handler<unknown, unknown>, data: unknown, ctx: HandlerContext<unknown>,
): Promise<void> {
  await bucket.take(1, signal);
  if (signal.aborted) {
    const state = deliveryStateOf(ctx);
    if (state) state.givenBack = true;
    throw new ClosedError("consumer closing: the handler did not start; the message goes back for redelivery", { cause: signal.reason });
  }
  await next(data, ctx);
}

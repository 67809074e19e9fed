/**
 * Message expiry: an attempt on a message whose `expiresat` has passed fails
 * with MessageExpiredError before the handler (or any middleware inside this
 * one) runs; the failure policy dead-letters it with reason `expired`, never
 * retried. It wraps every attempt, so an in-process retry that would start
 * past the expiry is stopped too, and a broker retry keeps the header (the
 * time is absolute). Messages without the attribute pass through untouched.
 */
import { MessageExpiredError } from "../errors.js";
import { parseExpiresAt } from "../envelope/expiry-priority.js";
import type { Handler, Middleware } from "../runtime/handler-context.js";

export function expiryMiddleware(now: () => number = Date.now): Middleware {
  return (next: Handler<unknown, unknown>): Handler<unknown, unknown> =>
    (data, ctx) => {
      const at = ctx.message.expiresat;
      if (at !== undefined) {
        // The decoder rejected an invalid value already: this parses a valid one.
        const ms = parseExpiresAt(at);
        if (ms !== undefined && ms <= now()) {
          return Promise.reject(new MessageExpiredError(`message ${ctx.message.id} expired at ${at}, ${now() - ms} ms before attempt ${ctx.attempt} could start; not handled`));
        }
      }
      return next(data, ctx);
    };
}

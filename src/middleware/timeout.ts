/**
 * Handler timeout: past `ms` the attempt fails with HandlerTimeoutError (a
 * retryable error) and `ctx.signal` aborts so a cooperative handler can stop.
 * JavaScript cannot kill a promise: a handler that ignores the signal keeps
 * running, which is why effects belong in `ctx.transaction` behind the inbox.
 */
import { HandlerTimeoutError } from "../errors.js";
import type { Handler, Middleware } from "../runtime/handler-context.js";

export function timeoutMiddleware(ms: number): Middleware {
  return (next: Handler<unknown, unknown>): Handler<unknown, unknown> =>
    async (data, ctx) => {
      const controller = new AbortController();
      const onOuterAbort = (): void => controller.abort(ctx.signal.reason);
      ctx.signal.addEventListener("abort", onOuterAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new HandlerTimeoutError(`handler took longer than ${ms} ms`);
          controller.abort(err);
          reject(err);
        }, ms);
      });
      try {
        await Promise.race([Promise.resolve(next(data, { ...ctx, signal: controller.signal })), expired]);
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener("abort", onOuterAbort);
      }
    };
}


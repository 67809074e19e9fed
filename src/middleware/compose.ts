import type { Handler, Middleware } from "../runtime/handler-context.js";

/** Compose middleware around a handler: the first in the list is the outermost. */
export function compose(middleware: readonly Middleware[], handler: Handler<unknown, unknown>): Handler<unknown, unknown> {
  let h = handler;
  for (let i = middleware.length - 1; i >= 0; i--) h = middleware[i]!(h);
  return h;
}

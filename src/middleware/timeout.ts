/**
 * Handler timeout: past `ms` the attempt fails with HandlerTimeoutError (a
 * retryable error) and `ctx.signal` aborts so a cooperative handler can stop.
 * JavaScript cannot kill a promise: a handler that ignores the signal keeps
 * running, which is why effects belong in `ctx.transaction` behind the inbox.
 *
 * It runs on every attempt, so it keeps per-attempt work small: no timer per
 * attempt (every attempt of one middleware has the same `ms`, so one deadline
 * list with one timer serves them all: deadline-list.ts), and no
 * AbortController until the handler reads `ctx.signal` (the costliest object
 * here; most handlers never read it). A signal first read after the attempt
 * timed out is already aborted, with the HandlerTimeoutError as its reason.
 */
import { HandlerTimeoutError } from "../errors.js";
import { DeadlineList, type DeadlineEntry } from "../runtime/deadline-list.js";
import type { Handler, Middleware } from "../runtime/handler-context.js";
import { AttemptContext, type SignalSource } from "./attempt-context.js";

export function timeoutMiddleware(ms: number): Middleware {
  const deadlines = new DeadlineList(ms);
  return (next: Handler<unknown, unknown>): Handler<unknown, unknown> =>
    (data, ctx) => {
      const attempt = new TimedAttempt(ctx.signal, ms, deadlines);
      deadlines.add(attempt);
      let result: Promise<void> | void;
      try {
        // The runtime's context (made for this attempt, nothing outside it holds it) takes the attempt's signal.
        result = next(data, ctx instanceof AttemptContext && ctx.adopt(attempt) ? ctx : AttemptContext.around(ctx, attempt));
      } catch (error) {
        attempt.end(undefined);
        return Promise.reject(error);
      }
      return attempt.race(result);
    };
}

/** One attempt under the timeout: its place in the deadline list, and the `ctx.signal` it makes when first read. */
class TimedAttempt implements DeadlineEntry, SignalSource {
  deadline = 0;
  previous: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  inList = false;
  private ended = false;
  /** Made when the handler first reads `ctx.signal`. */
  private controller: AbortController | undefined = undefined;
  /** While the attempt runs with its signal read: passes the outer signal's abort (the consumer's close deadline) on. */
  private onOuterAbort: (() => void) | undefined = undefined;
  /** Once the attempt ended with its signal unread: why that signal would have aborted by then (undefined: it would not have). */
  private abortedAtEnd: { readonly reason: unknown } | undefined = undefined;
  /** While the handler's promise is pending: fails the attempt when its deadline passes. */
  private rejectOnExpiry: ((error: unknown) => void) | undefined = undefined;

  constructor(
    /** The signal of the context around this middleware. */
    private readonly outer: AbortSignal,
    private readonly ms: number,
    private readonly deadlines: DeadlineList,
  ) {}

  /** The handler's outcome, or HandlerTimeoutError once the deadline passes first. */
  race(result: Promise<void> | void): Promise<void> {
    if (!isThenable(result)) {
      this.end(undefined);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.rejectOnExpiry = reject;
      // Promise.resolve: a foreign thenable is adopted safely; a native promise is taken as it is.
      Promise.resolve(result).then(
        () => {
          this.end(undefined);
          resolve();
        },
        (error: unknown) => {
          this.end(undefined);
          reject(error);
        },
      );
    });
  }

  /** Called by the deadline list: the deadline passed with the handler still running. */
  expire(): void {
    const reject = this.rejectOnExpiry;
    const error = new HandlerTimeoutError(`handler took longer than ${this.ms} ms`);
    this.end(error);
    reject?.(error);
  }

  /** The attempt is over (settled, or `timedOut`): out of the deadline list, unhooked from the outer signal. */
  end(timedOut: HandlerTimeoutError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.deadlines.remove(this);
    this.rejectOnExpiry = undefined;
    if (this.onOuterAbort !== undefined) {
      this.outer.removeEventListener("abort", this.onOuterAbort);
      this.onOuterAbort = undefined;
    }
    // Which abort came first decides the reason, as it would have on a signal made at the start.
    if (this.controller !== undefined) {
      if (timedOut !== undefined) this.controller.abort(timedOut);
    } else if (this.outer.aborted) this.abortedAtEnd = { reason: this.outer.reason };
    else if (timedOut !== undefined) this.abortedAtEnd = { reason: timedOut };
  }

  /** `ctx.signal`: made on first read, in the state a signal made at the start would be in now. */
  signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const outer = this.outer;
    if (this.ended) {
      if (this.abortedAtEnd !== undefined) controller.abort(this.abortedAtEnd.reason);
    } else if (outer.aborted) {
      controller.abort(outer.reason);
    } else {
      this.onOuterAbort = () => controller.abort(outer.reason);
      outer.addEventListener("abort", this.onOuterAbort, { once: true });
    }
    return controller.signal;
  }
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return typeof (value as PromiseLike<void> | undefined)?.then === "function";
}

import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ClosedError, HandlerTimeoutError } from "../errors.js";
import type { Handler, HandlerContext } from "../runtime/handler-context.js";
import { timeoutMiddleware } from "./timeout.js";
import { AttemptContext } from "./attempt-context.js";
import type { Envelope } from "../envelope/envelope.js";
import { noopLogger } from "../observability/logger.js";

function contextWith(signal: AbortSignal): HandlerContext {
  return { signal, message: { id: "m1" }, attempt: 1, group: "g", idempotencyKey: "g:m1" } as unknown as HandlerContext;
}

/** Counts AbortControllers made while `fn` runs. */
async function countControllers(fn: () => Promise<void>): Promise<number> {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    await fn();
  } finally {
    globalThis.AbortController = Original;
  }
  return made;
}

describe("timeout middleware", () => {
  afterEach(() => vi.useRealTimers());

  it("timeout - past its time the attempt fails with HandlerTimeoutError and ctx.signal aborts", async () => {
    let signal: AbortSignal | undefined;
    const handler = timeoutMiddleware(20)((_data, ctx) => {
      signal = ctx.signal;
      return new Promise(() => undefined);
    });
    const ctx = { signal: new AbortController().signal } as HandlerContext;
    await expect(handler({}, ctx)).rejects.toBeInstanceOf(HandlerTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(HandlerTimeoutError);
  });

  it("timeout - a handler that never reads ctx.signal costs no AbortController; one that reads it gets one, the same on every read", async () => {
    const outer = new AbortController().signal;
    const quiet = timeoutMiddleware(1_000)(async () => undefined);
    expect(await countControllers(async () => {
      for (let i = 0; i < 20; i++) await quiet({}, contextWith(outer));
    })).toBe(0);
    let same = false;
    const reading = timeoutMiddleware(1_000)((_data, ctx) => {
      same = ctx.signal === ctx.signal;
    });
    expect(await countControllers(() => reading({}, contextWith(outer)) as Promise<void>)).toBe(1);
    expect(same).toBe(true);
  });

  it("timeout - a signal first read after the attempt timed out is already aborted, with the HandlerTimeoutError as its reason", async () => {
    let late: HandlerContext | undefined;
    const handler = timeoutMiddleware(10)((_data, ctx) => {
      late = ctx;
      return new Promise(() => undefined);
    });
    const error = await handler({}, contextWith(new AbortController().signal))!.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HandlerTimeoutError);
    expect(late!.signal.aborted).toBe(true);
    expect(late!.signal.reason).toBe(error);
  });

  it("timeout - the outer signal's abort reaches ctx.signal while the attempt runs, and its listener is gone when the attempt ends", async () => {
    const outer = new AbortController();
    let release!: () => void;
    let inner: AbortSignal | undefined;
    const handler = timeoutMiddleware(5_000)((_data, ctx) => {
      inner = ctx.signal;
      return new Promise<void>((resolve) => (release = resolve));
    });
    const running = handler({}, contextWith(outer.signal));
    expect(getEventListeners(outer.signal, "abort")).toHaveLength(1);
    const reason = new ClosedError("close deadline passed");
    outer.abort(reason);
    expect(inner!.aborted).toBe(true);
    expect(inner!.reason).toBe(reason);
    release();
    await running;
    expect(getEventListeners(outer.signal, "abort")).toHaveLength(0);

    // Settled before the outer abort: a signal read afterwards is not aborted, and nothing was left listening.
    const other = new AbortController();
    let kept: HandlerContext | undefined;
    await timeoutMiddleware(5_000)((_data, ctx) => {
      kept = ctx;
      void ctx.signal;
    })({}, contextWith(other.signal));
    expect(getEventListeners(other.signal, "abort")).toHaveLength(0);
    other.abort(new ClosedError("later"));
    expect(kept!.signal.aborted).toBe(false);
  });

  it("timeout - an outer signal aborted before ctx.signal is read gives an aborted signal with the outer reason", async () => {
    const outer = new AbortController();
    const reason = new ClosedError("closing");
    outer.abort(reason);
    let seen: unknown;
    await timeoutMiddleware(5_000)((_data, ctx) => {
      seen = ctx.signal.reason;
    })({}, contextWith(outer.signal));
    expect(seen).toBe(reason);
  });

  it("timeout - deadlines fall due in start order on one timer; an attempt that settled early leaves the rest on time", async () => {
    vi.useFakeTimers();
    const around = timeoutMiddleware(100);
    const results: string[] = [];
    const releases: Array<() => void> = [];
    const handler = around(() => new Promise<void>((resolve) => releases.push(resolve)));
    const start = (name: string): void => {
      void (handler({}, contextWith(new AbortController().signal)) as Promise<void>).then(
        () => results.push(`${name} ok`),
        (err: unknown) => results.push(`${name} ${err instanceof HandlerTimeoutError ? "timeout" : String(err)}`),
      );
    };
    start("a");
    await vi.advanceTimersByTimeAsync(10);
    start("b");
    await vi.advanceTimersByTimeAsync(10);
    start("c");
    expect(vi.getTimerCount()).toBe(1);
    releases[0]!();
    await vi.advanceTimersByTimeAsync(89);
    expect(results).toEqual(["a ok"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(results).toEqual(["a ok", "b timeout"]);
    await vi.advanceTimersByTimeAsync(10);
    expect(results).toEqual(["a ok", "b timeout", "c timeout"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("timeout - a handler that throws at once fails the attempt; one that returns at once passes it", async () => {
    const outer = new AbortController().signal;
    const boom = new Error("boom");
    const throwing: Handler<unknown, unknown> = () => {
      throw boom;
    };
    await expect(timeoutMiddleware(1_000)(throwing)({}, contextWith(outer))).rejects.toBe(boom);
    await expect(timeoutMiddleware(1_000)(() => undefined)({}, contextWith(outer))).resolves.toBeUndefined();
  });

  it("timeout - a middleware inside that spreads the context passes every field on, ctx.signal included", async () => {
    let seen: HandlerContext | undefined;
    const inner = (next: Handler<unknown, unknown>): Handler<unknown, unknown> => (data, ctx) => next(data, { ...ctx, attempt: ctx.attempt + 10 });
    const handler = timeoutMiddleware(10)(inner((_data, ctx) => {
      seen = ctx;
      return new Promise(() => undefined);
    }));
    await expect(handler({}, contextWith(new AbortController().signal))).rejects.toBeInstanceOf(HandlerTimeoutError);
    expect(seen!.attempt).toBe(11);
    expect(seen!.group).toBe("g");
    expect(seen!.idempotencyKey).toBe("g:m1");
    expect(seen!.signal.aborted).toBe(true);
    expect(seen!.signal.reason).toBeInstanceOf(HandlerTimeoutError);
  });

  it("timeout - the runtime's own context is adopted, not copied: one context per attempt, its signal the attempt's; a nested timeout copies", async () => {
    const outer = new AbortController();
    const noop = () => Promise.reject(new Error("unused"));
    const runtimeCtx = new AttemptContext({ id: "m1" } as Envelope, 1, "g", "g:m1", noopLogger, noop, noop, noop, outer.signal);
    expect(runtimeCtx.signal).toBe(outer.signal);
    const seen: HandlerContext[] = [];
    const inner: Handler<unknown, unknown> = (_data, ctx) => {
      seen.push(ctx);
      return new Promise(() => undefined);
    };
    const handler = timeoutMiddleware(20)(timeoutMiddleware(1_000)(inner));
    await expect(handler({}, runtimeCtx)).rejects.toBeInstanceOf(HandlerTimeoutError);
    // The outer timeout adopted the runtime's context; the nested one, finding it adopted, made a copy.
    expect(runtimeCtx.signal).not.toBe(outer.signal);
    expect(runtimeCtx.signal.reason).toBeInstanceOf(HandlerTimeoutError);
    expect(seen[0]).not.toBe(runtimeCtx);
    expect(seen[0]).toMatchObject({ idempotencyKey: "g:m1", attempt: 1, group: "g" });
    expect({ ...seen[0] }).toHaveProperty("signal");
    expect(outer.signal.aborted).toBe(false);
  });
});

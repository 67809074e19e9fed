import { describe, expect, it } from "vitest";
import { HandlerTimeoutError } from "../errors.js";
import type { HandlerContext } from "../runtime/handler-context.js";
import { timeoutMiddleware } from "./timeout.js";

describe("timeout middleware", () => {
  it("timeout - past its time the attempt fails with HandlerTimeoutError and ctx.signal aborts", async () => {
    let signal: AbortSignal | undefined;
    const handler = timeoutMiddleware(20)((_data, ctx) => {
      signal = ctx.signal;
      return new Promise(() => undefined);
    });
    const ctx = { signal: new AbortController().signal } as HandlerContext;
    await expect(handler({}, ctx)).rejects.toBeInstanceOf(HandlerTimeoutError);
    expect(signal?.aborted).toBe(true);
  });
});

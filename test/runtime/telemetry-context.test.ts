/**
 * The handler runs inside its `process` span: spans it starts are children of
 * that span, and `ctx.publish` continues the same trace (its `send` span is a
 * child of the process span, and the next consumer's process span a child of
 * that send). Needs a real context manager, as an application's SDK registers.
 */
import { afterAll, describe, expect, it } from "vitest";
import { context, trace } from "@opentelemetry/api";
import { z } from "zod";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { installRecordingTracer } from "../support/recording-tracer.js";

const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
const recorder = installRecordingTracer();
const { missive } = await import("../../src/index.js");
const { createMemoryBroker } = await import("../../src/transports/memory/index.js");
const { defineMessage } = await import("../../src/index.js");
const { waitFor } = await import("../support/wait.js");

afterAll(() => {
  recorder.uninstall();
  context.disable();
});

const Started = defineMessage({ type: "telemetry.ctx.started", schema: z.object({ n: z.number() }) });
const Followed = defineMessage({ type: "telemetry.ctx.followed", schema: z.object({ n: z.number() }) });

describe("telemetry - handler context", () => {
  it("telemetry - spans the handler starts were orphaned and ctx.publish started a new trace: both now continue the process span", async () => {
    const bus = await missive({ service: "traced-ctx", transport: createMemoryBroker().transport() });
    let followed = 0;
    await bus.consume(Started, { group: "first" }, async (data, ctx) => {
      const own = trace.getTracer("app").startSpan("handler work");
      own.end();
      await ctx.publish(Followed, { n: data.n + 1 });
    }).ready;
    await bus.consume(Followed, { group: "second" }, () => {
      followed++;
    }).ready;
    await bus.publish(Started, { n: 1 });
    await waitFor(() => followed === 1 && recorder.spans.filter((s) => s.name.startsWith("process") && s.ended).length === 2, 10_000, "both process spans");
    await bus.close();

    const byName = (name: string) => {
      const found = recorder.spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const send = byName(`send ${Started.type}`);
    const process = byName(`process ${Started.type}`);
    const own = byName("handler work");
    const followSend = byName(`send ${Followed.type}`);
    const followProcess = byName(`process ${Followed.type}`);
    expect(process.parentSpanId).toBe(send.context.spanId);
    for (const span of [own, followSend, followProcess]) expect(span.context.traceId, span.name).toBe(send.context.traceId);
    expect(own.parentSpanId).toBe(process.context.spanId);
    expect(followSend.parentSpanId).toBe(process.context.spanId);
    expect(followProcess.parentSpanId).toBe(followSend.context.spanId);
  });
});

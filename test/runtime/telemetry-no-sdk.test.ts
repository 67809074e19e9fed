/**
 * Without an SDK (no span active in the handler), what a handler publishes
 * still carries its cause's trace context, so the trace crosses the hop for
 * whoever reads `traceparent` downstream.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, missive } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { waitFor } from "../support/wait.js";

const First = defineMessage({ type: "telemetry.nosdk.first", schema: z.object({ n: z.number() }) });
const Next = defineMessage({ type: "telemetry.nosdk.next", schema: z.object({ n: z.number() }) });

describe("telemetry - without an SDK", () => {
  it("telemetry - ctx.publish carries the cause's traceparent when no span is active", async () => {
    const bus = await missive({ service: "untraced", transport: createMemoryBroker().transport() });
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const seen: (string | undefined)[] = [];
    await bus.consume(First, { group: "first" }, async (data, ctx) => void await ctx.publish(Next, data)).ready;
    await bus.consume(Next, { group: "second" }, (_data, ctx) => void seen.push(ctx.message.traceparent)).ready;
    await bus.publish(First, { n: 1 }, { traceparent });
    await waitFor(() => seen.length === 1, 10_000, "the follow-up");
    await bus.close();
    expect(seen).toEqual([traceparent]);
  });
});

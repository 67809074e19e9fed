/** Traces cross the broker: a `process` span is the child of the `send` span that published the message. */
import { afterAll, describe, expect, it } from "vitest";
import { installRecordingTracer } from "../support/recording-tracer.js";
import { SpanKind } from "@opentelemetry/api";

// Registered before missive creates its tracer, as an application's SDK would be.
const recorder = installRecordingTracer();
const { missive, TransientError } = await import("../../src/index.js");
const { createMemoryBroker } = await import("../../src/transports/memory/index.js");
const { OrderPlaced } = await import("../conformance/contracts.js");
const { waitFor } = await import("../support/wait.js");

afterAll(() => recorder.uninstall());

describe("telemetry", () => {
  it("telemetry - send and process spans follow the messaging conventions and share one trace", async () => {
    const bus = await missive({ service: "traced", transport: createMemoryBroker().transport() });
    let calls = 0;
    await bus.consume(OrderPlaced, { group: "billing", retry: { delays: ["10ms"] } }, (_d, ctx) => {
      calls++;
      if (ctx.attempt === 1) throw new TransientError("once");
    }).ready;
    const r = await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
    await waitFor(() => calls === 2 && recorder.spans.filter((s) => s.name.startsWith("process") && s.ended).length === 2, 10_000, "two process spans");
    await bus.close();
    const send = recorder.spans.find((s) => s.name === `send ${OrderPlaced.type}`)!;
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({ "messaging.system": "memory", "messaging.destination.name": OrderPlaced.type, "messaging.message.id": r.id, "messaging.operation.type": "send" });
    expect(send.ended).toBe(true);
    const processes = recorder.spans.filter((s) => s.name === `process ${OrderPlaced.type}`);
    expect(processes.map((p) => p.attributes["missive.outcome"])).toEqual(["retried", "handled"]);
    for (const p of processes) {
      expect(p.kind).toBe(SpanKind.CONSUMER);
      expect(p.context.traceId).toBe(send.context.traceId);
      expect(p.parentSpanId).toBe(send.context.spanId);
      expect(p.attributes).toMatchObject({ "messaging.consumer.group.name": "billing", "messaging.message.id": r.id });
    }
    expect(processes[0]!.status?.code).toBe(2); // ERROR
  });
});

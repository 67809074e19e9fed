/**
 * Without an SDK the process span and its metrics take a path that builds
 * nothing (observability/telemetry.ts). These pin what that path must keep:
 * the span is the no-op tracer's, a trace carried in the message still
 * reaches the handler when only a propagator is registered, and an SDK
 * registered later records from the next delivery on.
 */
import { INVALID_SPAN_CONTEXT, createNoopMeter, metrics, propagation, type Attributes, type Counter, type Histogram, type Meter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterEach, describe, expect, it } from "vitest";
import { endProcess, startProcess, withActiveSpan } from "../../src/observability/telemetry.js";

afterEach(() => {
  propagation.disable();
  metrics.disable();
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

describe("telemetry - process span without an SDK", () => {
  it("telemetry - no SDK: the process span is the no-op tracer's (invalid context, not recording) and the handler runs as is", () => {
    const span = startProcess("memory", "t", "g", "id-1", 1, {});
    expect(span.spanContext()).toEqual(INVALID_SPAN_CONTEXT);
    expect(span.isRecording()).toBe(false);
    expect(withActiveSpan(span, (n: number) => n + 1, 1)).toBe(2);
    endProcess(span, "memory", "t", "g", "t", 1, "handled", new Error("x"), "poison");
  });

  it("telemetry - a propagator but no tracer provider: the process span carries the message's trace context, so ctx.publish continues that trace", () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const span = startProcess("memory", "t", "g", "id-1", 1, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.spanContext().spanId).toBe(PARENT_ID);
    // No traceparent in the message: nothing to continue.
    expect(startProcess("memory", "t", "g", "id-2", 1, {}).spanContext()).toEqual(INVALID_SPAN_CONTEXT);
  });

  it("telemetry - a meter provider registered after deliveries without one: the next delivery's counters and duration are recorded, with their attributes", () => {
    endProcess(startProcess("memory", "t", "g", "id-1", 2, {}), "memory", "t", "g", "order", 5, "handled", undefined);
    const points: { name: string; value: number; attributes: Attributes | undefined }[] = [];
    const meter: Meter = Object.assign(Object.create(createNoopMeter()) as Meter, {
      createCounter: (name: string): Counter => ({ add: (value: number, attributes?: Attributes) => void points.push({ name, value, attributes }) }),
      createHistogram: (name: string): Histogram => ({ record: (value: number, attributes?: Attributes) => void points.push({ name, value, attributes }) }),
    });
    expect(metrics.setGlobalMeterProvider({ getMeter: () => meter })).toBe(true);
    const span = startProcess("memory", "t", "g", "id-2", 2, {});
    endProcess(span, "memory", "t", "g", "order", 5, "dead-lettered", new TypeError("bad"), "poison");
    const counted = { "messaging.system": "memory", "messaging.destination.name": "t", "messaging.consumer.group.name": "g" };
    expect(points).toEqual([
      { name: "messaging.client.consumed.messages", value: 1, attributes: counted },
      { name: "missive.consumer.redelivered.messages", value: 1, attributes: counted },
      { name: "messaging.process.duration", value: 0.005, attributes: { ...counted, "missive.message.type": "order", "error.type": "TypeError" } },
      { name: "missive.consumer.dead_lettered.messages", value: 1, attributes: { ...counted, "missive.dead_letter.reason": "poison" } },
    ]);
  });
});

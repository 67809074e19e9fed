/**
 * Metrics reach an SDK registered after missive was imported (the usual
 * order in an application). Regression: the instruments were made at module
 * load, from the API's no-op provider, and stayed no-ops for good.
 */
import { createNoopMeter, metrics, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";

interface Point { readonly name: string; readonly value: number; readonly attributes: Attributes | undefined }

function recordingProvider(points: Point[]): MeterProvider {
  const meter: Meter = Object.assign(Object.create(createNoopMeter()) as Meter, {
    createCounter: (name: string): Counter => ({ add: (value: number, attributes?: Attributes) => void points.push({ name, value, attributes }) }),
    createHistogram: (name: string): Histogram => ({ record: (value: number, attributes?: Attributes) => void points.push({ name, value, attributes }) }),
  });
  return { getMeter: () => meter };
}

afterAll(() => metrics.disable());

describe("telemetry - metrics", () => {
  it("telemetry - counters and the duration histogram record through an SDK registered after import", async () => {
    const bus = await missive({ service: "metered", transport: createMemoryBroker().transport() });
    const points: Point[] = [];
    expect(metrics.setGlobalMeterProvider(recordingProvider(points))).toBe(true);
    await bus.consume(OrderPlaced, { group: "billing" }, () => undefined).ready;
    await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
    await waitFor(() => points.some((p) => p.name === "messaging.process.duration"), 10_000, "the process duration");
    await bus.close();
    const names = points.map((p) => p.name);
    expect(names).toContain("messaging.client.sent.messages");
    expect(names).toContain("messaging.client.consumed.messages");
    const consumed = points.find((p) => p.name === "messaging.client.consumed.messages")!;
    expect(consumed.attributes).toMatchObject({ "messaging.system": "memory", "messaging.destination.name": OrderPlaced.type, "messaging.consumer.group.name": "billing" });
    expect(points.find((p) => p.name === "messaging.process.duration")!.value).toBeGreaterThanOrEqual(0);
  });
});

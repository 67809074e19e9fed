/**
 * The metrics an operator (or an autoscaler) needs, on every transport:
 * queue depth, ready, in flight, oldest age and dead letters per group as
 * gauges read through the transport's queue inspection when the SDK
 * collects; the processing time per message type; redeliveries and dead
 * letters as counters. With the real metrics SDK.
 */
import { metrics, type Attributes } from "@opentelemetry/api";
import { MeterProvider, MetricReader, type DataPoint, type MetricData } from "@opentelemetry/sdk-metrics";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, PermanentError, TransientError } from "../../src/index.js";
import { memoryTarget } from "../conformance/memory.target.js";
import { rabbitmqTarget } from "../conformance/rabbitmq.target.js";
import { sqliteTarget } from "../conformance/sqlite.target.js";
import type { ConformanceTarget } from "../conformance/target.js";
import { waitFor } from "../support/wait.js";

class Reader extends MetricReader {
  protected onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected onShutdown(): Promise<void> { return Promise.resolve(); }
}
const reader = new Reader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
afterAll(() => metrics.disable());

/** Every data point of `name` whose attributes include `where`. */
async function points(name: string, where: Attributes): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  const found: MetricData[] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name);
  return found.flatMap((m) => (m.dataPoints as DataPoint<unknown>[]).filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v)));
}

async function gauge(name: string, where: Attributes): Promise<number | undefined> {
  const [point] = await points(name, where);
  return point?.value as number | undefined;
}

const Invoice = defineMessage({ type: "telemetry.queues.invoice", schema: z.object({ n: z.number().int(), fail: z.enum(["no", "once", "always"]) }) });

describe.each<ConformanceTarget>([memoryTarget, sqliteTarget, rabbitmqTarget])("telemetry - queue metrics on $name", (target) => {
  it(`telemetry - ${target.name}: queue depth, oldest age and dead letters per group were not reported; gauges, redeliveries, dead letters and duration per type now are`, async () => {
    const handle = await target.setup();
    try {
      const bus = await handle.bus({ service: "metered-queues" });
      const group = `billing-${target.name}`;
      const where = { "messaging.system": bus.transport.name, "messaging.consumer.group.name": group };
      await bus.declare(Invoice, group);
      await bus.publish(Invoice, { n: 1, fail: "no" });
      await bus.publish(Invoice, { n: 2, fail: "once" });
      await bus.publish(Invoice, { n: 3, fail: "always" });
      await waitFor(async () => (await gauge("missive.queue.depth", where)) === 3, 10_000, "a depth of 3");
      expect(await gauge("missive.queue.ready", where)).toBe(3);
      expect(await gauge("missive.queue.in_flight", where)).toBe(0);
      expect(await gauge("missive.queue.oldest_age", where)).toBeGreaterThanOrEqual(0);

      let handled = 0;
      await bus.consume(Invoice, { group, retry: { delays: ["10ms"] } }, (invoice, ctx) => {
        if (invoice.fail === "always") throw new PermanentError("refused");
        if (invoice.fail === "once" && ctx.attempt === 1) throw new TransientError("busy");
        handled++;
      }).ready;
      await waitFor(async () => handled === 2 && (await gauge("missive.queue.dead_letters", where)) === 1 && (await gauge("missive.queue.depth", where)) === 0, 15_000, "two handled, one dead letter, an empty queue");

      const redelivered = await points("missive.consumer.redelivered.messages", where);
      expect(redelivered.map((p) => p.value)).toEqual([1]);
      const deadLettered = await points("missive.consumer.dead_lettered.messages", { ...where, "missive.dead_letter.reason": "permanent" });
      expect(deadLettered.map((p) => p.value)).toEqual([1]);
      const durations = await points("messaging.process.duration", { ...where, "missive.message.type": Invoice.type });
      expect(durations.length).toBeGreaterThan(0);
      await bus.close();
    } finally {
      await handle.teardown();
    }
  });
});

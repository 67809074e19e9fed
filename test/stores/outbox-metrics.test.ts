/** The relay lag as OpenTelemetry gauges (missive.outbox.unsent, missive.outbox.oldest_age), through an SDK registered after the relay started. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createNoopMeter, metrics, type Attributes, type BatchObservableCallback, type BatchObservableResult, type Meter, type MeterProvider, type Observable, type ObservableGauge,
} from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import type { Transport } from "../../src/index.js";
import { sqliteOutbox } from "../../src/stores/sqlite/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { openSqlite } from "../conformance/stores/sqlite.target.js";
import { waitFor } from "../support/wait.js";

interface Reading { readonly name: string; readonly value: number; readonly attributes: Attributes | undefined }

/** A provider whose meter keeps the batch callbacks, and a collect() that runs them as an SDK would. */
function gaugeProvider(): { provider: MeterProvider; collect(): Promise<Reading[]> } {
  const callbacks: Array<BatchObservableCallback> = [];
  const meter: Meter = Object.assign(Object.create(createNoopMeter()) as Meter, {
    createObservableGauge: (name: string): ObservableGauge => ({ name } as unknown as ObservableGauge),
    addBatchObservableCallback: (cb: BatchObservableCallback) => void callbacks.push(cb),
  });
  return {
    provider: { getMeter: () => meter },
    async collect() {
      const readings: Reading[] = [];
      const result: BatchObservableResult = {
        observe: (observable: Observable, value: number, attributes?: Attributes) => void readings.push({ name: (observable as unknown as { name: string }).name, value, attributes }),
      };
      for (const cb of callbacks) await cb(result);
      return readings;
    },
  };
}

afterAll(() => metrics.disable());

describe("outbox metrics", () => {
  it("outbox metrics - unsent rows and the oldest age per table, while the relay runs; nothing after it stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-outbox-metrics-"));
    const db = openSqlite(join(dir, "app.db"));
    const outbox = sqliteOutbox({ database: db, source: "metered", table: "metered_outbox" });
    outbox.migrate();
    // Nobody bound: the transport refuses every row, which stays unsent.
    const transport: Transport = createMemoryBroker().transport();
    db.transaction(() => {
      outbox.add(db, OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 });
      outbox.add(db, OrderPlaced, { orderId: "b", seq: 1, totalCents: 1 });
    })();
    const relay = outbox.relay({ transport, backoff: { baseMs: 10, maxMs: 50 } });
    try {
      // The application registers its SDK after the relay started.
      const sdk = gaugeProvider();
      expect(metrics.setGlobalMeterProvider(sdk.provider)).toBe(true);
      let readings: Reading[] = [];
      await waitFor(async () => (readings = await sdk.collect()).length === 2, 10_000, "the gauges on the new provider");
      const attributes = { "missive.outbox.store": "sqlite outbox", "missive.outbox.table": "metered_outbox" };
      expect(readings).toContainEqual({ name: "missive.outbox.unsent", value: 2, attributes });
      const age = readings.find((r) => r.name === "missive.outbox.oldest_age")!;
      expect(age.attributes).toEqual(attributes);
      expect(age.value).toBeGreaterThanOrEqual(0);
      await relay.stop();
      expect(await sdk.collect()).toEqual([]);
    } finally {
      await relay.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The outbox carries trace context: a `create` span at add time, and the consumer's `process` span is its child, across the relay. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { installRecordingTracer } from "../support/recording-tracer.js";

// Registered before missive creates its tracer, as an application's SDK would be.
const recorder = installRecordingTracer();
const { missive } = await import("../../src/index.js");
const { createMemoryBroker } = await import("../../src/transports/memory/index.js");
const { sqliteOutbox } = await import("../../src/stores/sqlite/index.js");
const { OrderPlaced } = await import("../conformance/contracts.js");
const { openSqlite } = await import("../conformance/stores/sqlite.target.js");
const { waitFor } = await import("../support/wait.js");

afterAll(() => recorder.uninstall());

describe("outbox telemetry", () => {
  it("outbox telemetry - add records a create span; the process span after the relay is in its trace, its child", async () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-outbox-otel-"));
    const db = openSqlite(join(dir, "app.db"));
    const broker = createMemoryBroker();
    const bus = await missive({ service: "traced", transport: broker.transport() });
    const outbox = sqliteOutbox({ database: db, source: "traced" });
    outbox.migrate();
    try {
      let seen = 0;
      await bus.consume(OrderPlaced, { group: "billing" }, () => void seen++).ready;
      const { id } = db.transaction(() => outbox.add(db, OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }))();
      const relay = outbox.relay({ transport: broker.transport() });
      await waitFor(() => seen === 1 && recorder.spans.some((s) => s.name.startsWith("process") && s.ended), 10_000, "the process span");
      await relay.stop();
      const create = recorder.spans.find((s) => s.name === `create ${OrderPlaced.type}`)!;
      expect(create.kind).toBe(SpanKind.PRODUCER);
      expect(create.attributes).toMatchObject({ "messaging.operation.type": "create", "messaging.message.id": id });
      expect(create.ended).toBe(true);
      const process = recorder.spans.find((s) => s.name === `process ${OrderPlaced.type}`)!;
      expect(process.context.traceId).toBe(create.context.traceId);
      expect(process.parentSpanId).toBe(create.context.spanId);
    } finally {
      await bus.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

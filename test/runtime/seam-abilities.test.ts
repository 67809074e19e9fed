import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  canInspectQueues, declaresTopology, defineMessage, hasNativeDeadLetters, hasReplyAddress, MessageTooLargeError, missive, reportsDurability,
} from "../../src/index.js";
import { connectLate } from "../../src/runtime/late-connect.js";
import { noopLogger } from "../../src/observability/logger.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";

const Blob = defineMessage({ type: "seam.blob", version: 1, schema: z.object({ text: z.string() }) });

describe("seam abilities", () => {
  it("abilities - guards see what each transport implements", async () => {
    const memory = createMemoryBroker().transport();
    expect([hasNativeDeadLetters(memory), canInspectQueues(memory), reportsDurability(memory), declaresTopology(memory), hasReplyAddress(memory)])
      .toEqual([true, true, true, false, false]);
    const sqlite = sqliteTransport({ path: ":memory:" });
    expect([hasNativeDeadLetters(sqlite), canInspectQueues(sqlite), reportsDurability(sqlite), declaresTopology(sqlite), hasReplyAddress(sqlite)])
      .toEqual([true, true, true, false, false]);
    await Promise.all([memory.close(), sqlite.close()]);
  });

  it("abilities - the late-connect wrapper forwards every ability the inner transport has, and only those", async () => {
    const sqlite = sqliteTransport({ path: ":memory:" });
    const late = connectLate(sqlite, new Error("down at start"), { baseMs: 1, maxMs: 2 }, Math.random, noopLogger, { log: noopLogger, report: () => undefined });
    await late.connected;
    const t = late.transport;
    expect([hasNativeDeadLetters(t), canInspectQueues(t), reportsDurability(t), declaresTopology(t), hasReplyAddress(t)]).toEqual([true, true, true, false, false]);
    if (!reportsDurability(t) || !canInspectQueues(t)) throw new Error("unreachable");
    expect((await t.durability()).settings).toHaveProperty("synchronous");
    expect(await t.stats()).toEqual([]);
    await t.close();
  });

  it("capabilities - maxMessageBytes: a message the broker could never take is refused before it is sent, with MessageTooLargeError", async () => {
    const broker = createMemoryBroker();
    const bus = await missive({ service: "seam", transport: broker.transport({ capabilities: { maxMessageBytes: 70 * 1024 } }) });
    await bus.consume(Blob, { group: "blobs" }, () => undefined).ready;
    const published = broker.stats().published;
    await expect(bus.publish(Blob, { text: "x".repeat(80 * 1024) })).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(broker.stats().published).toBe(published);
    await expect(bus.publish(Blob, { text: "small" })).resolves.toMatchObject({ outcome: "confirmed" });
    await bus.close();
  });

  it("context - the bus hands its transport a context whose reports reach the bus's status listeners", async () => {
    const inner = createMemoryBroker().transport();
    let reportTo: ((e: { kind: "connection"; state: "down" }) => void) | undefined;
    const transport = Object.assign(Object.create(inner) as typeof inner, {
      connect: async (context?: { report(e: { kind: "connection"; state: "down" }): void }) => {
        reportTo = context?.report.bind(context);
        await inner.connect();
      },
    });
    const bus = await missive({ service: "seam", transport });
    const seen: unknown[] = [];
    bus.onStatus((e) => seen.push(e));
    reportTo?.({ kind: "connection", state: "down" });
    // The report itself, and (a connection the transport lost) the broker announced down at once.
    expect(seen).toEqual([
      { type: "broker", state: "down", at: expect.any(Number) as number, reason: expect.any(String) as string },
      { type: "transport", at: expect.any(Number) as number, transport: "memory", event: { kind: "connection", state: "down" } },
    ]);
    await bus.close();
  });
});

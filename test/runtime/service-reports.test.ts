/**
 * Service reports (service-report.ts) on the memory transport: a bus reports
 * per group and type what it processed and failed, its processing-time and
 * age histograms, the keys held behind a retrying message, and its
 * producer; the reports are read back through the seam like any process's.
 */
import { afterEach, describe, expect, it } from "vitest";
import { missive, TransientError, type Bus } from "../../src/index.js";
import { reportsServices } from "../../src/transport/abilities.js";
import { LATENCY_BUCKETS_MS, type ServiceReport } from "../../src/transport/service-report.js";
import { createMemoryBroker, forgetMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { sleep, uniqueName, waitFor } from "../support/wait.js";

const buses: Bus[] = [];
const brokers: string[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
  for (const name of brokers.splice(0)) forgetMemoryBroker(name);
});

async function newBus(broker: string, service: string): Promise<Bus> {
  const bus = await missive({ transport: `memory://${broker}`, service, reportInterval: "200ms" });
  buses.push(bus);
  return bus;
}

async function reportsOf(bus: Bus, since: number): Promise<ServiceReport[]> {
  const t = bus.transport;
  if (!reportsServices(t)) throw new Error("the memory transport keeps service reports");
  return t.readReports(since);
}

describe("service reports", () => {
  it("service reports - counts, percentiles, a blocked key with its message id, and the producer, read back by another bus", async () => {
    const broker = uniqueName("reports");
    brokers.push(broker);
    const bus = await newBus(broker, "billing");
    const since = Date.now();
    const consumer = bus.consume(OrderPlaced, { group: "billing", ordered: true, retry: { delays: ["30s"], attempts: 3 }, slo: "95%<30s" }, async (order) => {
      if (order.orderId === "stuck") throw new TransientError("downstream unavailable");
      await sleep(25);
    });
    await consumer.ready;
    for (let i = 0; i < 20; i++) await bus.publish(OrderPlaced, { orderId: `o-${i % 4}`, seq: i, totalCents: 1 });
    const stuck = await bus.publish(OrderPlaced, { orderId: "stuck", seq: 0, totalCents: 1 });
    const failing = stuck.id;
    await bus.publish(OrderPlaced, { orderId: "stuck", seq: 1, totalCents: 1 });

    // Another bus on the broker (another process, as far as the seam is concerned) reads what this one reported.
    const reader = await newBus(broker, "dashboard");
    let all: ServiceReport[] = [];
    await waitFor(async () => {
      all = (await reportsOf(reader, since)).filter((r) => r.service === "billing");
      const processed = all.flatMap((r) => r.types).reduce((n, t) => n + t.processed, 0);
      const blocked = all.at(-1)?.groups.find((g) => g.group === "billing")?.blockedKeys ?? [];
      return processed === 20 && blocked.length === 1;
    }, 20_000, "20 processed and the stuck key reported blocked");

    const types = all.flatMap((r) => r.types).filter((t) => t.type === OrderPlaced.type);
    expect(types.every((t) => t.group === "billing")).toBe(true);
    expect(types.reduce((n, t) => n + t.failed, 0)).toBeGreaterThanOrEqual(1);
    expect(types[0]!.slo).toEqual({ withinMs: 30_000, target: 0.95 });
    const counted = types.flatMap((t) => [...t.processing.counts]);
    expect(types.every((t) => t.processing.counts.length === LATENCY_BUCKETS_MS.length + 1)).toBe(true);
    expect(counted.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(21);
    // Each handled message slept 25 ms: its bucket's bound is at least 50 ms.
    const busiest = types.find((t) => t.processed > 0)!;
    expect(busiest.processing.p50).toBeGreaterThanOrEqual(50);
    expect(busiest.age.p99).not.toBeNull();

    const last = all.at(-1)!;
    expect(last.groups[0]!.blockedKeys[0]).toMatchObject({ key: "stuck", messageId: failing, attempts: 1 });
    expect(last.groups[0]!.blockedKeys[0]!.since).toBeGreaterThanOrEqual(since);
    expect(last.producer).toEqual({ broker: "up", breaker: "closed", spool: null });
    expect(last.intervalMs).toBe(200);
    expect(last.pid).toBe(process.pid);
  });

  it("service reports - a key held behind an in-process retry is released once its message is handled", async () => {
    // A broker that does not block keys itself: an ordered consumer's retry waits in-process, its lane held.
    const transport = createMemoryBroker().transport({ capabilities: { ordering: "fifo" } });
    const target = await missive({ transport, service: "svc", reportInterval: "200ms" });
    buses.push(target);
    let fails = 1;
    const consumer = target.consume(OrderPlaced, { group: "g", ordered: true, retry: { delays: ["1500ms"] } }, () => {
      if (fails-- > 0) throw new TransientError("once");
    });
    await consumer.ready;
    const since = Date.now();
    await target.publish(OrderPlaced, { orderId: "k", seq: 0, totalCents: 1 });
    const blockedNow = async (): Promise<number | undefined> => (await reportsOf(target, since)).at(-1)?.groups[0]?.blockedKeys.length;
    await waitFor(async () => (await blockedNow()) === 1, 10_000, "the key reported blocked");
    await waitFor(async () => consumer.stats().handled === 1 && (await blockedNow()) === 0, 20_000, "the key reported free after the retry");
  });

  it("service reports - reportInterval false sends none; a bad interval or slo is refused", async () => {
    const broker = uniqueName("reports-off");
    brokers.push(broker);
    const bus = await missive({ transport: `memory://${broker}`, service: "quiet", reportInterval: false });
    buses.push(bus);
    const since = Date.now();
    const c = bus.consume(OrderPlaced, { group: "q" }, () => undefined);
    await c.ready;
    await bus.publish(OrderPlaced, { orderId: "a", seq: 0, totalCents: 1 });
    await waitFor(() => c.stats().handled === 1, 10_000, "handled");
    await sleep(400);
    expect(await reportsOf(bus, since)).toEqual([]);
    await expect(missive({ transport: `memory://${broker}`, service: "x", reportInterval: "10ms" })).rejects.toMatchObject({ code: "MISSIVE_CONFIG" });
    expect(() => bus.consume(OrderPlaced, { group: "bad", slo: "95 percent" as never }, () => undefined)).toThrow(/service level/);
    expect(() => bus.consume(OrderPlaced, { group: "bad2", slo: "150%<1s" }, () => undefined)).toThrow(/at most 100%/);
  });
});

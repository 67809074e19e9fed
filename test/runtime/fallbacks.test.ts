/**
 * The runtime fills in what a transport lacks (ADR 001): in-process delayed
 * retries without native delay, a dead-letter topic without a native
 * dead-letter store, lanes without broker-side key order.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DiagnosticHeaders, ErrorCodes, TransientError, deadLetterTopic, missive, type Bus, hasNativeDeadLetters } from "../../src/index.js";
import { createMemoryBroker, type MemoryBroker, type MemoryCapabilities } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { plainViaTransport } from "../conformance/plain-via-transport.js";
import { sleep, waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});

async function busOn(broker: MemoryBroker, capabilities: Partial<MemoryCapabilities>): Promise<Bus> {
  const bus = await missive({ service: "fallbacks", transport: broker.transport({ capabilities }), inbox: broker.inbox() });
  buses.push(bus);
  return bus;
}

describe("runtime fallbacks", () => {
  it("no native delay - retries wait in-process, keep the key's order, and count attempts", async () => {
    const broker = createMemoryBroker({ seed: 1 });
    const bus = await busOn(broker, { nativeDelay: false, ordering: "none" });
    const seen: Array<[number, number]> = [];
    const times: number[] = [];
    await bus.consume(OrderPlaced, { group: "g", ordered: true, concurrency: 4, retry: { delays: ["150ms"], attempts: 3 } }, (d, ctx) => {
      if (d.seq === 0 && ctx.attempt < 3) {
        times.push(Date.now());
        throw new TransientError("not yet");
      }
      if (d.seq === 0) times.push(Date.now());
      seen.push([d.seq, ctx.attempt]);
    }).ready;
    for (let i = 0; i < 5; i++) await bus.publish(OrderPlaced, { orderId: "same-key", seq: i, totalCents: 1 });
    await waitFor(() => seen.length === 5, 10_000, "five messages");
    expect(seen.map(([s]) => s)).toEqual([0, 1, 2, 3, 4]);
    expect(seen[0]).toEqual([0, 3]);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(140);
  });

  it("no native dead-letter store - the dead letter is published to the group's DLQ topic with diagnostics", async () => {
    const broker = createMemoryBroker({ seed: 2 });
    const bus = await busOn(broker, { nativeDeadLetter: false });
    expect(hasNativeDeadLetters(bus.transport)).toBe(false);
    await bus.consume(OrderPlaced, { group: "g2", retry: { attempts: 1 } }, () => {
      throw new TransientError("boom");
    }).ready;
    const r = await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
    const plain = plainViaTransport(broker.transport());
    let got: Awaited<ReturnType<typeof plain.take>> = [];
    await waitFor(async () => (got = await plain.take(deadLetterTopic("g2"), 10)).length === 1, 10_000, "the dead letter on its topic");
    expect(got[0]!.headers["ce-id"]).toBe(r.id);
    expect(got[0]!.headers[DiagnosticHeaders.errorCode]).toBe(ErrorCodes.TRANSIENT);
    expect(got[0]!.headers[DiagnosticHeaders.reason]).toBe("attempts-exhausted");
    expect(JSON.parse(Buffer.from(got[0]!.body).toString())).toEqual({ orderId: "k", seq: 1, totalCents: 1 });
  });

  it("no broker-side key order - lanes still order one consumer's keys under concurrency", async () => {
    const broker = createMemoryBroker({ seed: 3 });
    const bus = await busOn(broker, { ordering: "none" });
    const byKey = new Map<string, number[]>();
    await bus.consume(OrderPlaced, { group: "g3", ordered: true, concurrency: 16, prefetch: 64 }, async (d) => {
      await sleep(Math.random() * 3);
      byKey.set(d.orderId, [...(byKey.get(d.orderId) ?? []), d.seq]);
    }).ready;
    await Promise.all(Array.from({ length: 200 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i % 5}`, seq: Math.floor(i / 5), totalCents: 1 })));
    await waitFor(() => [...byKey.values()].reduce((n, l) => n + l.length, 0) === 200, 20_000, "200 messages");
    for (const list of byKey.values()) expect(list).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
});

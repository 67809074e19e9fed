/** Helpers shared by the memory transport tests. */
import { vi } from "vitest";
import { emptyHeaders, type WireMessage } from "../../src/envelope/wire.js";
import type { Delivery, OutgoingMessage, Subscription } from "../../src/transport/transport.js";
import { createMemoryBroker, type MemoryBroker, type MemoryBrokerOptions, type MemoryTransport, type MemoryTransportOverrides } from "../../src/transports/memory/index.js";
export { receiveAtLeast } from "../support/receive.js";

export function wire(body: string, headers: Record<string, string> = {}): WireMessage {
  return { headers: Object.assign(emptyHeaders(), headers), body: Buffer.from(body) };
}

/** A message whose id doubles as its body, so tests can read what they got. */
export function message(topic: string, id: string, key?: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { topic, id, key, wire: wire(id, { "ce-id": id }), ...extra };
}

export function bodyOf(delivery: Delivery): string {
  return Buffer.from(delivery.wire.body).toString("utf8");
}

export function bodies(deliveries: readonly Delivery[]): string[] {
  return deliveries.map(bodyOf);
}

export async function connected(broker: MemoryBroker, overrides?: MemoryTransportOverrides): Promise<MemoryTransport> {
  const transport = broker.transport(overrides);
  await transport.connect();
  return transport;
}

export async function brokerWithTransport(options: MemoryBrokerOptions = {}, overrides?: MemoryTransportOverrides): Promise<{ broker: MemoryBroker; transport: MemoryTransport }> {
  const broker = createMemoryBroker(options);
  return { broker, transport: await connected(broker, overrides) };
}

/**
 * Under vi.useFakeTimers(): receive and ack `count` deliveries, advancing
 * fake time 1 ms at a time, so when rows become visible depends on the
 * broker's seed alone, never on how busy the machine is.
 */
export async function drainOnFakeTime(subscription: Subscription, count: number): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let guard = 0; out.length < count && guard < 10_000; guard++) {
    let batch: Delivery[] | undefined;
    void subscription.receive(count - out.length, 1_000).then((got) => (batch = got));
    while (batch === undefined) await vi.advanceTimersByTimeAsync(1);
    await Promise.all(batch.map((d) => d.ack()));
    out.push(...batch);
  }
  return out;
}

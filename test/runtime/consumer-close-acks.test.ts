/**
 * close() waits for the acks of handled deliveries still committing (an unkeyed success frees its lane slot at
 * once and settles in the background, settle.ts): the consumer keeps a count of them, and close resolves only
 * once the last one landed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import type { Delivery, Subscription, Transport } from "../../src/transport/transport.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { sleep, waitFor } from "../support/wait.js";

/** `target` with some members replaced; the rest bound to it (a transport or delivery may keep state in `this`). */
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, name) {
      if (name in overrides) return overrides[name as keyof T];
      const value: unknown = Reflect.get(t, name);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});

describe("consumer close and committing acks", () => {
  it("close - waits for every ack still committing, and resolves once the last one landed", async () => {
    const inner = createMemoryBroker({ seed: 3 }).transport();
    const gates: Array<() => void> = [];
    let acksLanded = 0;
    const slowAck = (d: Delivery): Delivery =>
      overriding(d, {
        ack: () => new Promise<void>((resolve) => gates.push(resolve)).then(() => d.ack()).then(() => void acksLanded++),
      });
    const transport: Transport = overriding(inner as Transport, {
      subscribe: async (options) => {
        const sub = await inner.subscribe(options);
        return overriding<Subscription>(sub, { receive: async (max, waitMs) => (await sub.receive(max, waitMs)).map(slowAck) });
      },
    });
    const bus = await missive({ service: "acks", transport });
    buses.push(bus);
    await bus.declare(OrderPlaced, "billing");
    for (let i = 0; i < 3; i++) await bus.publish(OrderPlaced, { orderId: `o${i}`, seq: i, totalCents: 1 });
    let handled = 0;
    const consumer = bus.consume(OrderPlaced, { group: "billing" }, () => void handled++);
    await waitFor(() => gates.length === 3, 5_000, "three acks committing");
    expect(handled).toBe(3);
    expect(consumer.stats()).toMatchObject({ inFlight: 0, held: 3, handled: 0 });

    let closed = false;
    const closing = consumer.close(5_000).then(() => (closed = true));
    gates.shift()!();
    gates.shift()!();
    await sleep(50);
    expect(closed).toBe(false);
    expect(consumer.stats().held).toBe(1);
    gates.shift()!();
    await closing;
    expect(acksLanded).toBe(3);
    expect(consumer.stats()).toMatchObject({ held: 0, handled: 3 });
  });
});

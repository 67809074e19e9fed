/**
 * The producer: grouping concurrent publishes, retrying a failed batch with the
 * same ids until the deadline, failing fast on what retrying cannot fix.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  AuthenticationError, ConnectionError, ErrorCodes, PublishTimeoutError, missive, type Bus, type MissiveError,
  type OutgoingMessage, type Transport, type TransportCapabilities,
} from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";

/** The real memory transport, with publish failures injected in front of it. */
function failingPublishes(inner: Transport, fail: (call: number) => Error | undefined, capabilities: Partial<TransportCapabilities> = {}): Transport & { calls: OutgoingMessage[][] } {
  const calls: OutgoingMessage[][] = [];
  return {
    name: inner.name,
    capabilities: { ...inner.capabilities, ...capabilities },
    calls,
    connect: () => inner.connect(),
    bind: (group, topics) => inner.bind(group, topics),
    subscribe: (options) => inner.subscribe(options),
    close: () => inner.close(),
    publish(batch: readonly OutgoingMessage[]) {
      calls.push([...batch]);
      const err = fail(calls.length);
      return err ? Promise.reject(err) : inner.publish(batch);
    },
  };
}

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 200 }).catch(() => undefined)));
});

async function busWith(transport: Transport, timeout = "5s"): Promise<Bus> {
  const bus = await missive({ service: "producer-test", transport, publisher: { timeout: timeout as "5s", retryBase: "5ms", retryMax: "20ms" } });
  buses.push(bus);
  await bus.declare(OrderPlaced, "g");
  return bus;
}

describe("producer", () => {
  it("producer - concurrent publishes share transport batches", async () => {
    const t = failingPublishes(createMemoryBroker().transport(), () => undefined);
    const bus = await busWith(t);
    await Promise.all(Array.from({ length: 64 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
    const sizes = t.calls.map((c) => c.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64);
    expect(sizes.length).toBeLessThan(8);
  });

  it("producer - a connection failure is retried with the same message ids until confirmed", async () => {
    const t = failingPublishes(createMemoryBroker().transport(), (n) => (n <= 3 ? new ConnectionError("broker restarting") : undefined));
    const bus = await busWith(t);
    const r = await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
    expect(t.calls).toHaveLength(4);
    expect(new Set(t.calls.map((c) => c[0]!.id))).toEqual(new Set([r.id]));
  });

  it("producer - still failing at the deadline rejects with PublishTimeoutError, cause kept", async () => {
    const t = failingPublishes(createMemoryBroker().transport(), () => new ConnectionError("down"));
    // The breaker opens at the first ConnectionError (an outage): later attempts are its probes, 250-500 ms apart at first.
    const bus = await busWith(t, "2s");
    const started = Date.now();
    const err = (await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }).catch((e: unknown) => e)) as MissiveError;
    expect(err).toBeInstanceOf(PublishTimeoutError);
    expect(err.cause).toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(t.calls.length).toBeGreaterThan(1);
  });

  it("producer - an authentication failure is not retried", async () => {
    const t = failingPublishes(createMemoryBroker().transport(), () => new AuthenticationError("bad credentials"));
    const bus = await busWith(t);
    const err = (await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }).catch((e: unknown) => e)) as MissiveError;
    expect(err.code).toBe(ErrorCodes.AUTH);
    expect(t.calls).toHaveLength(1);
  });

  it("producer - a transport's publishBatch is the default batch limit", async () => {
    const t = failingPublishes(createMemoryBroker().transport(), () => undefined, { publishBatch: 16 });
    const bus = await busWith(t);
    await Promise.all(Array.from({ length: 64 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
    const sizes = t.calls.map((c) => c.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64);
    expect(Math.max(...sizes)).toBe(16);
  });

  it("producer - an explicit publisher.maxBatch wins over the transport's publishBatch", async () => {
    const t = failingPublishes(createMemoryBroker().transport(), () => undefined, { publishBatch: 16 });
    const bus = await missive({ service: "producer-test", transport: t, publisher: { maxBatch: 40 } });
    buses.push(bus);
    await bus.declare(OrderPlaced, "g");
    await Promise.all(Array.from({ length: 64 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
    const sizes = t.calls.map((c) => c.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64);
    expect(Math.max(...sizes)).toBe(40);
  });

  it("producer - a publisher.maxBatch that is not a positive integer is refused", async () => {
    for (const maxBatch of [0, -1, 1.5, Number.NaN]) {
      await expect(missive({ service: "producer-test", transport: createMemoryBroker().transport(), publisher: { maxBatch } })).rejects.toMatchObject({ code: ErrorCodes.CONFIG });
    }
  });

  it("producer - hostile options are refused with a typed error", async () => {
    const bus = await busWith(createMemoryBroker().transport());
    const bad = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    await expect(bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }, { extensions: bad })).rejects.toMatchObject({ code: ErrorCodes.CONFIG });
    await expect(bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }, { extensions: { type: "spoofed" } })).rejects.toMatchObject({ code: ErrorCodes.CONFIG });
    await expect(bus.publish(OrderPlaced, JSON.parse('{"orderId":"k","seq":1,"totalCents":1,"__proto__":{"polluted":true}}') as never)).resolves.toBeDefined();
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

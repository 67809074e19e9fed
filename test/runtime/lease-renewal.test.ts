/**
 * Lease renewal filled in by the runtime, for brokers with an ack deadline
 * they do not extend by themselves (JetStream's ack wait, Redis Streams' idle
 * time), simulated by the memory transport with `leaseRenewal: "runtime"`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { sleep, waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 1_000 })));
});

const LEASE_MS = 100;
const RUNTIME_RENEWAL = { capabilities: { leaseRenewal: "runtime" as const } };

describe("lease renewal", () => {
  it("lease renewal - the simulation bites: a held delivery nobody renews goes to the next receiver after its lease", async () => {
    const broker = createMemoryBroker({ seed: 3 });
    const a = broker.transport(RUNTIME_RENEWAL);
    const b = broker.transport(RUNTIME_RENEWAL);
    await a.connect();
    await b.connect();
    await a.bind("g", [OrderPlaced.type]);
    await a.publish([{ topic: OrderPlaced.type, id: "m1", key: undefined, wire: { headers: { "ce-id": "m1" }, body: Buffer.from("{}") } }]);
    const options = { group: "g", topics: [OrderPlaced.type], prefetch: 1, ordered: false, leaseMs: LEASE_MS };
    const first = await (await a.subscribe(options)).receive(1, 1_000);
    expect(first).toHaveLength(1);
    const again = await (await b.subscribe(options)).receive(1, 3 * LEASE_MS);
    expect(again.map((d) => d.wire.headers["ce-id"])).toEqual(["m1"]);
    await expect(first[0]!.ack()).rejects.toMatchObject({ code: "MISSIVE_LEASE_LOST" });
    await a.close();
    await b.close();
  });

  it("lease renewal - a handler running three times the lease is not redelivered elsewhere meanwhile", async () => {
    const broker = createMemoryBroker({ seed: 4 });
    const starts: string[] = [];
    for (const name of ["one", "two"]) {
      const bus = await missive({ service: name, transport: broker.transport(RUNTIME_RENEWAL) });
      buses.push(bus);
      await bus.consume(OrderPlaced, { group: "billing", lease: `${LEASE_MS}ms` }, async () => {
        starts.push(name);
        await sleep(3 * LEASE_MS);
      }).ready;
    }
    await buses[0]!.publish(OrderPlaced, { orderId: "slow", seq: 1, totalCents: 1 });
    await waitFor(() => broker.stats().acked === 1, 5_000, "the slow message acked");
    await sleep(2 * LEASE_MS);
    expect(starts).toHaveLength(1);
    expect(broker.stats()).toMatchObject({ delivered: 1, acked: 1 });
  });
});

/**
 * Fault: the producer's connection is reset (RST both ways, through a TCP
 * proxy) and reconnects are refused for a while. The transport knows at once:
 * the bus announces the outage then (not only after `outageAfter`, and not
 * only when a publish happens to be in flight), and a publish made meanwhile
 * is rejected at `publisher.timeout`, not at the transport's own confirm
 * timeout.
 */
import { describe, expect, it } from "vitest";
import { PublishTimeoutError, type PublisherOptions, type StatusEvent } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";
import { GROUP, openBus, rabbitmqFaults, viaPort } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults();

async function busBehindProxy(publisher: PublisherOptions) {
  const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
  fx.defer(() => proxy.stop());
  // The transport's own bound is far beyond the bus's: what rejects the publish must be the bus's timeout.
  const { bus } = await openBus(fx, { url: viaPort(fx.vhost().url, proxy.port), confirmTimeoutMs: 20_000 }, undefined, { publisher });
  await bus.declare(OrderPlaced, GROUP);
  await bus.publish(OrderPlaced, { orderId: "warm", seq: 0, totalCents: 1 });
  const events: StatusEvent[] = [];
  bus.onStatus((e) => void events.push(e));
  const brokerStates = (): string[] => events.flatMap((e) => (e.type === "broker" ? [e.state] : []));
  return { proxy, bus, brokerStates };
}

describe("faults - rabbitmq outage announcement and publish timeout", () => {
  it("faults - rabbitmq: a reset connection is announced as a broker outage at once (before, only after outageAfter, 30 s here) and as up once reconnected", async ({ skip }) => {
    if (fx.skip()) return skip();
    const { proxy, bus, brokerStates } = await busBehindProxy({ outageAfter: "30s" });
    await proxy.refuse();
    proxy.reset();
    await waitFor(() => brokerStates().includes("down"), 5_000, "the outage announced");
    expect(bus.status().broker).toBe("down");
    await proxy.pass();
    await waitFor(() => brokerStates().includes("up"), 10_000, "the broker announced up again");
    expect(brokerStates()).toEqual(["down", "up"]);
    expect(bus.status().broker).toBe("up");
  }, 30_000);

  it("faults - rabbitmq: publisher.timeout is honoured while the connection is down (before, the rejection came at the transport's confirm timeout)", async ({ skip }) => {
    if (fx.skip()) return skip();
    const { proxy, bus } = await busBehindProxy({ timeout: "1s", outageAfter: "30s" });
    await proxy.refuse();
    proxy.reset();
    const started = Date.now();
    const error = await bus.publish(OrderPlaced, { orderId: "during", seq: 1, totalCents: 1 }).then(() => undefined, (err: unknown) => err);
    const waitedMs = Date.now() - started;
    expect(error).toBeInstanceOf(PublishTimeoutError);
    // Not a speed figure: the bound the caller set (1 s), against the transport's 20 s.
    expect(waitedMs).toBeLessThan(10_000);
    await proxy.pass();
  }, 40_000);
});

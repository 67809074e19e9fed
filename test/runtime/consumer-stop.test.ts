/** A configuration or authentication error stops the consumer loudly, and its message goes back for whoever can handle it. */
import { afterEach, describe, expect, it } from "vitest";
import { ConfigurationError, missive, type Bus, type Logger } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});

describe("consumer stop", () => {
  it("stop - a fatal error stops the consumer, logged as an error; the message is given back, not held, not dead-lettered", async () => {
    const broker = createMemoryBroker({ seed: 5 });
    const errors: string[] = [];
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_o, msg) => void errors.push(msg ?? "") };
    const broken = await missive({ service: "broken", transport: broker.transport(), logger });
    buses.push(broken);
    const failing = broken.consume(OrderPlaced, { group: "billing" }, () => {
      throw new ConfigurationError("no credentials for the downstream");
    });
    await failing.ready;
    await broken.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 });
    await waitFor(() => errors.some((e) => e.includes("stopping the consumer")), 5_000, "the stop logged");
    await waitFor(() => failing.stats().held === 0, 5_000, "nothing held");
    expect(failing.stats()).toMatchObject({ deadLettered: 0, retried: 0 });

    const healthy = await missive({ service: "healthy", transport: broker.transport() });
    buses.push(healthy);
    const handled: number[] = [];
    await healthy.consume(OrderPlaced, { group: "billing" }, (_d, ctx) => void handled.push(ctx.attempt)).ready;
    await waitFor(() => handled.length === 1, 5_000, "handled by the healthy consumer");
    // Given back uncounted: a deployment error is not the message's fault.
    expect(handled).toEqual([1]);
  });
});

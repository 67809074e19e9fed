/** The consumer circuit breaker pauses for a sick dependency, never for messages that refuse themselves. */
import { afterEach, describe, expect, it } from "vitest";
import { missive, PermanentError, type Bus, type Logger } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});

describe("consumer breaker", () => {
  it("breaker - permanent refusals never open it: 1,000 refused messages are all dead-lettered with the breaker closed (it opened after 10 and paused fetching)", async () => {
    const broker = createMemoryBroker({ seed: 7 });
    const breakerLines: string[] = [];
    const logger: Logger = {
      debug: () => undefined, info: () => undefined, error: () => undefined,
      warn: (_o, msg) => void (msg?.includes("circuit breaker") && breakerLines.push(msg)),
    };
    const b = await missive({ service: "refuser", transport: broker.transport(), logger });
    buses.push(b);
    const messages = 1_000;
    // The default breaker (threshold 10, cool-down from 1 s): before, it opened after ten refusals and
    // let one probe through per cool-down, so these took minutes.
    const c = b.consume(OrderPlaced, { group: "refusals", concurrency: 4 }, () => {
      throw new PermanentError("this order can never be billed");
    });
    await c.ready;
    await Promise.all(Array.from({ length: messages }, (_, i) => b.publish(OrderPlaced, { orderId: `o${i}`, seq: i, totalCents: 1 })));
    await waitFor(() => c.stats().deadLettered === messages || breakerLines.length > 0, 30_000, "every refusal dead-lettered");
    expect(breakerLines).toEqual([]);
    expect(c.stats()).toMatchObject({ deadLettered: messages, breaker: "closed" });
  });
});

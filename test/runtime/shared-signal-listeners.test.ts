/**
 * Every handler's ctx.signal is the consumer's one stop signal, and the
 * default handler timeout (issue 14) adds a listener to it per running
 * handler: with concurrency above 10, Node printed a
 * MaxListenersExceededWarning ("possible EventTarget memory leak") on every
 * service (seen in `npm run bench`). The listeners are removed when their
 * handlers end, so it was no leak; the consumer's signals now allow them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});

describe("shared handler signal", () => {
  it("signal - regression: 32 handlers at once, each passing ctx.signal on, print no MaxListenersExceededWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    try {
      const bus = await missive({ service: "signals", transport: createMemoryBroker({ seed: 3 }).transport() });
      buses.push(bus);
      let running = 0;
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      await bus.consume(OrderPlaced, { group: "billing", concurrency: 32 }, async (_order, ctx) => {
        running++;
        // What a handler does with its signal: hand it to something that listens (fetch, a timer).
        const onAbort = (): void => {};
        ctx.signal.addEventListener("abort", onAbort, { once: true });
        await gate;
        ctx.signal.removeEventListener("abort", onAbort);
      }).ready;
      await Promise.all(Array.from({ length: 32 }, (_, i) => bus.publish(OrderPlaced, { orderId: `o-${i}`, seq: i, totalCents: 1 })));
      await waitFor(() => running === 32, 10_000, "32 handlers running at once");
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      release();
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message)).toEqual([]);
  });
});

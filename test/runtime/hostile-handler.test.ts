/**
 * Regression (issue 14): a handler that threw a value whose getters throw, or
 * a Proxy whose traps throw, left its delivery neither retried nor
 * dead-lettered: the settle failed, the delivery stayed held (SQLite renewed
 * its lease for ever) and about prefetch-many of them stopped the consumer.
 * Now whatever a handler throws is retried, then dead-lettered.
 */
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus, type Transport } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { sqliteFixture } from "../transports/sqlite-support.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});
const sqlite = sqliteFixture();

const trap = (): never => {
  throw new Error("trap");
};
const HOSTILE: Array<[string, () => unknown]> = [
  ["a getter on code that throws", () => Object.defineProperty(new Error("x"), "code", { get: trap })],
  ["a Proxy whose traps throw", () => new Proxy({}, { get: trap, has: trap, getPrototypeOf: trap, ownKeys: trap })],
];

const TRANSPORTS: Array<[string, () => Transport]> = [
  ["memory", () => createMemoryBroker().transport()],
  ["sqlite", () => sqlite.open()],
];

describe("hostile handler", () => {
  for (const [where, transport] of TRANSPORTS) {
    for (const [what, hostile] of HOSTILE) {
      it(`regression - ${where}: a handler throwing ${what} is retried, then dead-lettered; nothing stays held`, async () => {
        const bus = await missive({ service: "hostile", transport: transport() });
        buses.push(bus);
        let calls = 0;
        const consumer = bus.consume(OrderPlaced, { group: "g", prefetch: 2, concurrency: 1, retry: { attempts: 2, delays: ["10ms"] } }, () => {
          calls++;
          throw hostile();
        });
        await consumer.ready;
        for (let i = 0; i < 4; i++) await bus.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 });
        await waitFor(() => consumer.stats().deadLettered === 4, 10_000, "all four dead-lettered");
        expect(calls).toBe(8);
        expect(consumer.stats()).toMatchObject({ held: 0, settleFailures: 0, retried: 4 });
      });
    }
  }
});

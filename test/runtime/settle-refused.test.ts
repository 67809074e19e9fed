/**
 * A settle the broker refuses (issue 14, "a settle that fails must never leave
 * a delivery held"): on a real transport (memory, SQLite) whose deliveries'
 * ack, retry or dead letter reject once, or every time, the delivery ends
 * given back and handled later, an error is logged for a person to see, the
 * consumer's held and in-flight counts come back to 0, its key and slot are
 * free (a later message of the same key runs), and the consumer goes on.
 */
import { afterEach, describe, expect, it } from "vitest";
import { PermanentError, TransientError, missive, type Bus, type Consumer, type Transport } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { sqliteFixture } from "../transports/sqlite-support.js";
import { recordingLogger, type RecordingLogger } from "../support/recording-logger.js";
import { refusingSettles, type RefusingTransport } from "../support/refusing-settles.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});
const sqlite = sqliteFixture();

const TRANSPORTS: Array<[string, () => Transport]> = [
  ["memory", () => createMemoryBroker().transport()],
  ["sqlite", () => sqlite.open()],
];

/** What the handler does with the refused message on its first run, and which settle that asks for. */
const OPERATIONS = [
  // Handled, ack refused, handled again once redelivered, then key k's next message.
  { op: "ack", fail: undefined, runsOfK: 3, dead: 0 },
  // Fails, retry refused, given back; fails again, retried, handled; then k's next.
  { op: "retry", fail: () => new TransientError("test: try again"), runsOfK: 2, dead: 0 },
  // Refused, dead letter refused, given back; refused again and dead-lettered; then k's next.
  { op: "deadLetter", fail: () => new PermanentError("test: refused"), runsOfK: 1, dead: 1 },
] as const;

interface Setup {
  readonly bus: Bus;
  readonly consumer: Consumer;
  readonly refusing: RefusingTransport;
  readonly log: RecordingLogger;
  readonly handled: string[];
}

async function setup(transport: Transport, failFirstRunOf: Map<string, () => Error>): Promise<Setup> {
  const refusing = refusingSettles(transport);
  const log = recordingLogger();
  const bus = await missive({ service: "settle-refused", transport: refusing.transport, logger: log });
  buses.push(bus);
  const handled: string[] = [];
  const consumer = bus.consume(OrderPlaced, { group: "g", ordered: true, prefetch: 2, concurrency: 1, retry: { attempts: 3, delays: ["10ms"] }, breaker: false }, (o, ctx) => {
    const fail = failFirstRunOf.get(ctx.message.id);
    if (fail !== undefined && ctx.attempt === 1) throw fail();
    handled.push(o.orderId);
  });
  await consumer.ready;
  return { bus, consumer, refusing, log, handled };
}

const idle = (c: Consumer): boolean => c.stats().held === 0 && c.stats().inFlight === 0;

describe("settle refused", () => {
  for (const [where, transport] of TRANSPORTS) {
    for (const { op, fail, runsOfK, dead } of OPERATIONS) {
      it(`regression - ${where}: ${op} refused once: the delivery is given back and ends settled, an error is logged, nothing stays held, its key goes on`, async () => {
        const failing = new Map<string, () => Error>();
        if (fail) failing.set("refused-1", fail);
        const s = await setup(transport(), failing);
        s.refusing.refuse.set("refused-1", 1);
        await s.bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }, { id: "refused-1" });
        // Same key: it runs only once the refused one is out of its lane.
        await s.bus.publish(OrderPlaced, { orderId: "k", seq: 2, totalCents: 1 }, { id: "later-2" });
        await s.bus.publish(OrderPlaced, { orderId: "other", seq: 3, totalCents: 1 }, { id: "later-3" });
        await waitFor(() => s.handled.length === runsOfK + 1 && s.consumer.stats().deadLettered === dead && idle(s.consumer), 10_000, "every message settled")
          .catch((err: Error) => {
            throw new Error(`${err.message}: handled ${JSON.stringify(s.handled)}, stats ${JSON.stringify(s.consumer.stats())}`);
          });
        expect(s.refusing.refused[op]).toBe(1);
        expect(s.handled.filter((key) => key === "k")).toHaveLength(runsOfK);
        expect(s.consumer.stats()).toMatchObject({ held: 0, inFlight: 0, settleFailures: 1, state: "running" });
        expect(s.log.at("error", "settling a delivery failed")).toHaveLength(1);
      });
    }

    it(`regression - ${where}: every ack, retry and dead letter of one message refused: each refusal is logged and the delivery given back; other keys go on; once the broker takes it, nothing stays held`, async () => {
      const s = await setup(transport(), new Map([["stuck", () => new TransientError("test: try again")]]));
      s.refusing.refuse.set("stuck", Number.POSITIVE_INFINITY);
      const started = Date.now();
      await s.bus.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 }, { id: "stuck" });
      await waitFor(() => s.refusing.refused.retry + s.refusing.refused.ack >= 3, 10_000, "the stuck message refused three times");
      for (let i = 0; i < 5; i++) await s.bus.publish(OrderPlaced, { orderId: `b${i}`, seq: i, totalCents: 1 }, { id: `free-${i}` });
      await waitFor(() => s.handled.filter((k) => k.startsWith("b")).length === 5, 10_000, "the other keys handled meanwhile")
        .catch((err: Error) => {
          throw new Error(`${err.message}: handled ${JSON.stringify(s.handled)}, stats ${JSON.stringify(s.consumer.stats())}, refused ${JSON.stringify(s.refusing.refused)}`);
        });
      expect(s.log.at("error", "settling a delivery failed").length).toBeGreaterThanOrEqual(3);
      // Given back after a backoff, not at once: before, memory handed it straight back, ~9,000 refusals a second, and starved every other key.
      const refusals = s.refusing.refused.retry + s.refusing.refused.ack;
      expect(refusals).toBeLessThanOrEqual(3 + (Date.now() - started) / 40);
      s.refusing.refuse.delete("stuck");
      await waitFor(() => s.handled.includes("a") && idle(s.consumer), 10_000, "the stuck message handled once the broker takes its settle");
      expect(s.consumer.stats()).toMatchObject({ held: 0, inFlight: 0, deadLettered: 0, state: "running" });
    });

    it(`regression - ${where}: a settle and the give-back after it both refused: the delivery stays counted as held and is given back once the broker takes it; the consumer goes on`, async () => {
      const s = await setup(transport(), new Map());
      s.refusing.refuse.set("stuck", Number.POSITIVE_INFINITY);
      s.refusing.refuseRelease.add("stuck");
      await s.bus.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 }, { id: "stuck" });
      await waitFor(() => s.refusing.refused.release >= 1, 10_000, "the give-back refused");
      // Its stats say what the transport holds: one delivery, no handler running.
      await waitFor(() => s.consumer.stats().held === 1 && s.consumer.stats().inFlight === 0, 5_000, "held 1, nothing in flight");
      await s.bus.publish(OrderPlaced, { orderId: "b", seq: 2, totalCents: 1 }, { id: "free" });
      await waitFor(() => s.handled.includes("b"), 10_000, "another key handled meanwhile");
      expect(s.log.at("error", "and so did giving it back").length).toBeGreaterThanOrEqual(1);
      s.refusing.refuse.delete("stuck");
      s.refusing.refuseRelease.delete("stuck");
      await waitFor(() => s.handled.filter((k) => k === "a").length >= 1 && idle(s.consumer), 15_000, "given back, handled, nothing held");
      expect(s.consumer.stats()).toMatchObject({ held: 0, inFlight: 0, state: "running" });
    });
  }
});

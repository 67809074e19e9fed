/**
 * Fault: consumer processes SIGKILLed mid-handler on the SQLite default.
 * Counted by the checker after a final drain: nothing confirmed is lost, and
 * with the inbox no effect happens twice. The control case shows the checker
 * bites: without the inbox, a kill between effect and ack doubles the effect.
 */
import { describe, expect, it } from "vitest";
import { missive, uuidv7 } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { FaultConsumerMessage } from "../fixtures/fault-consumer.js";
import { createChecker, type Checker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { waitFor } from "../support/wait.js";
import { declareGroup, queueDepth, readBack, sqliteFaultFiles, startConsumer, type FaultFile } from "./sqlite-fault-support.js";

const files = sqliteFaultFiles();

/** Publish `n` messages from this process, each attempt and confirm recorded. */
async function publish(file: FaultFile, n: number, checker: Checker): Promise<void> {
  await declareGroup(file.path);
  const bus = await missive({ service: "fault-producer", transport: sqliteTransport({ path: file.path }) });
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const id = uuidv7();
    checker.attempted(id);
    await bus.publish(OrderPlaced, { orderId: `k${i % 50}`, seq: i, totalCents: 1 }, { id });
    checker.confirmed(id);
  }));
  await bus.close();
}

const stalled = (m: FaultConsumerMessage): boolean => "stalled" in m;

describe("faults - sqlite consumer sigkill", () => {
  it("faults - consumers SIGKILLed twice mid-handler: lost 0, double effects 0 with the inbox", async () => {
    const file = files();
    const checker = createChecker();
    await publish(file, 1500, checker);

    let kills = 0;
    for (const stallAfter of [200, 300]) {
      const victim = await startConsumer(file, `victim-${kills}`, { stallAfter, stallAt: "before-effect" });
      await killOnMessage(victim.child, stalled, 30_000, `victim ${kills} stalled mid-handler`);
      kills++;
    }
    const survivor = await startConsumer(file, "survivor");
    await waitFor(() => queueDepth(file.path) === 0, 60_000, "the survivor to drain the queue");
    survivor.child.kill("SIGKILL");

    const { deadLetters } = readBack(file, checker);
    const r = checker.check();
    console.log(`[fault] sqlite consumer sigkill: kills=${kills} dead_letters=${deadLetters} ${checker.summary()}`);
    expect(r.confirmed).toBe(1500);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(deadLetters).toBe(0);
    // Each kill interrupted a handler that had started: it ran again.
    expect(r.duplicates).toBeGreaterThanOrEqual(kills);
  }, 90_000);

  it("faults - control: without the inbox, a consumer SIGKILLed between effect and ack doubles that effect", async () => {
    const file = files();
    const checker = createChecker();
    await publish(file, 200, checker);

    const victim = await startConsumer(file, "victim", { inbox: false, stallAfter: 50, stallAt: "after-effect" });
    const message = await killOnMessage(victim.child, stalled, 30_000, "the victim stalled after its effect");
    const survivor = await startConsumer(file, "survivor", { inbox: false });
    await waitFor(() => queueDepth(file.path) === 0, 60_000, "the survivor to drain the queue");
    survivor.child.kill("SIGKILL");

    readBack(file, checker);
    const r = checker.check();
    console.log(`[fault] sqlite consumer sigkill without inbox (control): ${checker.summary()}`);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toContain((message as { stalled: string }).stalled);
  }, 90_000);
});

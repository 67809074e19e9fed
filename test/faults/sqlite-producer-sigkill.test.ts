/**
 * Fault: a producer process SIGKILLed mid-stream on the SQLite default.
 * Every id it saw confirmed is handled after a final drain (a confirm is only
 * given after the commit); ids in flight at the kill may or may not arrive
 * (indeterminate), but nothing arrives that was never attempted.
 */
import { describe, expect, it } from "vitest";
import type { FaultProducerMessage } from "../fixtures/fault-producer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { waitFor } from "../support/wait.js";
import { declareGroup, queueDepth, readBack, sqliteFaultFiles, startConsumer, startProducer } from "./sqlite-fault-support.js";

const files = sqliteFaultFiles();

describe("faults - sqlite producer sigkill", () => {
  it("faults - a producer SIGKILLed mid-stream: every confirmed message is handled (lost 0), none unexpected", async () => {
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const producer = await startProducer(file, "producer", checker, { count: 0, concurrency: 32 });
    await killOnMessage(producer.child, (m: FaultProducerMessage) => "confirmed" in m && producer.confirmed() >= 3000, 60_000, "3000 confirmed publishes");

    const drain = await startConsumer(file, "drain");
    await waitFor(() => queueDepth(file.path) === 0, 60_000, "the drain to empty the queue");
    drain.child.kill("SIGKILL");

    const { deadLetters } = readBack(file, checker);
    const r = checker.check();
    console.log(`[fault] sqlite producer sigkill: dead_letters=${deadLetters} ${checker.summary()}`);
    expect(r.confirmed).toBeGreaterThanOrEqual(3000);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.rejected).toBe(0);
    expect(deadLetters).toBe(0);
  }, 90_000);
});

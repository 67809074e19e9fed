/**
 * Fault: two producer processes and two consumer processes on one SQLite file
 * at the same time, under load; one consumer SIGKILLed mid-handler while the
 * producers are still publishing, a fresh consumer started in its place, then
 * a final drain. With the inbox: lost 0 and double effects 0.
 */
import { describe, expect, it } from "vitest";
import type { FaultConsumerCommand, FaultConsumerMessage } from "../fixtures/fault-consumer.js";
import { createChecker } from "../support/checker.js";
import { killOnMessage } from "../support/fixture-process.js";
import { waitFor } from "../support/wait.js";
import { declareGroup, queueDepth, readBack, sqliteFaultFiles, startConsumer, startProducer } from "./sqlite-fault-support.js";

const files = sqliteFaultFiles();
const PER_PRODUCER = 2000;

describe("faults - sqlite two processes per role", () => {
  it("faults - two producers and two consumers share one file; a consumer SIGKILLed mid-handler: lost 0, double effects 0", async () => {
    const file = files();
    const checker = createChecker();
    await declareGroup(file.path);
    const [victim, steady] = await Promise.all([
      startConsumer(file, "victim", { stallAt: "before-effect" }),
      startConsumer(file, "steady"),
    ]);
    // Different key prefixes: the producers' keys interleave in one queue without sharing a key.
    const producers = await Promise.all([
      // Paced (16 publishers, 20 ms apart: at most ~800 msg/s each), so the stream outlasts the kill below
      // on a fast machine as on a loaded one.
      startProducer(file, "producer-a", checker, { count: PER_PRODUCER, concurrency: 16, keyPrefix: "a", paceMs: 20 }),
      startProducer(file, "producer-b", checker, { count: PER_PRODUCER, concurrency: 16, keyPrefix: "b", paceMs: 20 }),
    ]);

    // An eighth of the way through the stream, the victim's next handler hangs before its effect and is killed there.
    const confirmed = (): number => producers.reduce((n, p) => n + p.confirmed(), 0);
    await waitFor(() => confirmed() >= PER_PRODUCER / 4, 60_000, "an eighth of the stream confirmed");
    victim.child.send({ stall: true } satisfies FaultConsumerCommand);
    await killOnMessage(victim.child, (m: FaultConsumerMessage) => "stalled" in m, 30_000, "the victim stalled mid-handler");
    const confirmedAtKill = confirmed();
    const fresh = await startConsumer(file, "fresh");
    await Promise.all(producers.map((p) => p.done));
    await waitFor(() => queueDepth(file.path) === 0, 60_000, "the consumers to drain the queue");
    steady.child.kill("SIGKILL");
    fresh.child.kill("SIGKILL");

    const { deadLetters } = readBack(file, checker);
    const r = checker.check();
    console.log(`[fault] sqlite two-process: confirmed_at_kill=${confirmedAtKill} dead_letters=${deadLetters} ${checker.summary()}`);
    expect(confirmedAtKill).toBeLessThan(2 * PER_PRODUCER); // the kill landed mid-stream
    expect(r.confirmed).toBe(2 * PER_PRODUCER);
    expect(r.rejected).toBe(0);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(deadLetters).toBe(0);
    expect(r.duplicates).toBeGreaterThanOrEqual(1); // the handler the kill interrupted ran again
  }, 90_000);
});

/**
 * The delivery contract over many seeded fault schedules: fast-check draws a
 * schedule (broker seed, fault mix, workload, consumer setup, crashes), the
 * real runtime runs it on the memory broker on fake time, and the contract's
 * invariants are checked on what happened. See settings.ts to replay a seed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tally } from "./invariants.js";
import { runChecked } from "./run-checked.js";
import { scheduleArb, type Schedule } from "./schedule.js";
import { PROPERTY_RUNS, PROPERTY_SEED, PROPERTY_TIME_LIMIT_MS, propertyParameters, replayHint } from "./settings.js";

const FILE = "test/property/delivery.property.test.ts";

interface Totals {
  runs: number;
  fakeMs: number;
  slowestMs: number;
  duplicateEffects: number;
  deadLettered: number;
  duplicateDeadLetters: number;
  droppedAcks: number;
  duplicates: number;
  crashes: number;
  interruptions: number;
  retried: number;
  ordered: number;
  inbox: number;
}

/** Run one schedule (throws a ContractViolation describing it when an invariant fails) and add up what happened. */
async function check(schedule: Schedule, totals: Totals): Promise<void> {
  const started = performance.now();
  const outcome = await runChecked(schedule);
  totals.runs++;
  totals.slowestMs = Math.max(totals.slowestMs, performance.now() - started);
  totals.fakeMs += outcome.elapsedMs;
  const t = tally(schedule, outcome);
  totals.duplicateEffects += t.duplicateEffects;
  totals.deadLettered += t.deadLettered;
  totals.duplicateDeadLetters += t.duplicateDeadLetters;
  totals.droppedAcks += outcome.broker.droppedAcks;
  totals.duplicates += outcome.broker.duplicates;
  totals.crashes += outcome.broker.crashes;
  totals.retried += outcome.broker.retried;
  totals.interruptions += outcome.interruptionsDone;
  if (schedule.consumers.ordered) totals.ordered++;
  if (schedule.consumers.inbox) totals.inbox++;
}

describe("property - delivery contract", () => {
  it(
    "property - over seeded fault schedules nothing confirmed is lost, keys keep order, the inbox gives each effect once",
    async () => {
      const totals: Totals = { runs: 0, fakeMs: 0, slowestMs: 0, duplicateEffects: 0, deadLettered: 0, duplicateDeadLetters: 0, droppedAcks: 0, duplicates: 0, crashes: 0, interruptions: 0, retried: 0, ordered: 0, inbox: 0 };
      const started = performance.now();
      const details = await fc.check(
        fc.asyncProperty(scheduleArb, (schedule) => check(schedule, totals)),
        propertyParameters<[Schedule]>(),
      );
      if (details.failed) {
        const cause = details.errorInstance;
        const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
        console.error(
          `delivery property failed; fast-check seed ${details.seed}, broker seed ${details.counterexample?.[0].seed ?? "?"}\n` +
            `replay: ${replayHint(details.seed, details.counterexamplePath ?? undefined, FILE)}\n` +
            `schedule: ${JSON.stringify(details.counterexample?.[0])}\n${why}`,
        );
        throw new Error(`${fc.defaultReportMessage(details)}\n\n${why}`, { cause });
      }
      console.info(
        `delivery property: ${totals.runs} schedules (seed ${PROPERTY_SEED}) in ${Math.round(performance.now() - started)} ms real (slowest ${Math.round(totals.slowestMs)} ms), ` +
          `${totals.fakeMs} ms fake; ${totals.ordered} ordered, ${totals.inbox} with inbox; faults fired: ${totals.droppedAcks} dropped acks, ` +
          `${totals.duplicates} duplicate deliveries, ${totals.crashes} crashes, ${totals.retried} retries, ${totals.interruptions} buses killed or closed mid-run; ${totals.duplicateEffects} duplicate effects without the inbox; ` +
          `${totals.deadLettered} poison messages dead-lettered (${totals.duplicateDeadLetters} of them twice or more)`,
      );
      // Not vacuous: across a default-sized run every fault actually fired.
      if (PROPERTY_RUNS >= 100 && details.numShrinks === 0) {
        expect(totals.droppedAcks).toBeGreaterThan(0);
        expect(totals.duplicates).toBeGreaterThan(0);
        expect(totals.crashes).toBeGreaterThan(0);
        expect(totals.retried).toBeGreaterThan(0);
        expect(totals.interruptions).toBeGreaterThan(0);
      }
    },
    PROPERTY_TIME_LIMIT_MS + 30_000,
  );
});

/**
 * The property is only worth its green if it can go red: each test here
 * configures the runtime against the contract on purpose (at-most-once, no
 * inbox, a broker that does not keep key order) and expects the same
 * schedules and the same invariants to catch it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ContractViolation, runChecked } from "./run-checked.js";
import type { Sabotage } from "./run-schedule.js";
import { scheduleArb, type Schedule } from "./schedule.js";

/** Run up to 100 schedules from a fixed seed under `sabotage`; the first violation found, if any. */
async function firstViolation(arb: fc.Arbitrary<Schedule>, sabotage: Sabotage): Promise<string | undefined> {
  const details = await fc.check(
    fc.asyncProperty(arb, async (schedule) => void (await runChecked(schedule, sabotage))),
    { numRuns: 100, seed: 20_240_601, endOnFailure: true },
  );
  if (!details.failed) return undefined;
  const err = details.errorInstance;
  if (!(err instanceof ContractViolation)) throw err;
  return err.message;
}

const withSetup = (patch: Partial<Schedule["consumers"]>, faults: Partial<Schedule["faults"]> = {}): fc.Arbitrary<Schedule> =>
  scheduleArb.map((s) => ({ ...s, faults: { ...s.faults, ...faults }, consumers: { ...s.consumers, ...patch } }));

describe("property - the invariants catch a runtime set up against the contract", () => {
  it("bite - at-most-once delivery loses messages whose handler failed", async () => {
    const found = await firstViolation(scheduleArb, { atMostOnce: true });
    expect(found).toMatch(/at-least-once: \d+ confirmed message\(s\) neither handled nor dead-lettered/);
  });

  it("bite - without the inbox a redelivered message has a second effect", async () => {
    const found = await firstViolation(withSetup({ inbox: true }, { dropAck: 0.2 }), { noInbox: true });
    expect(found).toMatch(/effectively-once: effects repeated despite the inbox/);
  });

  it("bite - a broker that does not block keys reorders them under latency", async () => {
    const found = await firstViolation(withSetup({ ordered: true, competing: true }, { maxDelayMs: 20 }), { noKeyOrdering: true });
    expect(found).toMatch(/ordering: key k\d+ first effects/);
  });
});

/**
 * Fixed schedules for the nastiest combinations (broker crashes and
 * duplicate deliveries, killed and closed buses, ordered lanes, the inbox,
 * timeouts, in-process retries), run on every test run whatever seed the
 * property draws. Each also checks its faults really fired, so a change in
 * the simulator cannot turn it into a schedule that tests nothing.
 */
import { describe, expect, it } from "vitest";
import { runChecked, SCHEDULE_LIMITS } from "./run-checked.js";
import { runSchedule } from "./run-schedule.js";
import { PLAN, type ConsumerSetup, type FaultMix, type Schedule } from "./schedule.js";
import { onVirtualTime } from "./virtual-time.js";

const MAX_MESSAGES = 60;

/** A busy workload: every 4th message fails its first two attempts, every 7th throws after its effect, every 9th is slow, every 13th is poison. */
function nasty(seed: number, faults: FaultMix, consumers: ConsumerSetup, messages = 48, keys = 3): Schedule {
  const each = <T>(f: (m: number) => T): T[] => Array.from({ length: MAX_MESSAGES }, (_, m) => f(m));
  return {
    seed,
    faults,
    workload: {
      messages,
      keys,
      keyOf: each((m) => m % keys),
      plan: each((m) => (m % 4 === 1 ? PLAN.failBefore(1) | PLAN.failBefore(2) : 0) | (m % 7 === 3 ? PLAN.failAfter : 0) | (m % 9 === 5 ? PLAN.slow : 0) | (m % 13 === 6 ? PLAN.poison : 0)),
      handlerMs: each((m) => m % 5),
      error: "transient",
      publishGapMs: 1,
    },
    consumers,
  };
}

const ALL_FAULTS: FaultMix = { dropAck: 0.2, duplicate: 0.3, maxDelayMs: 20, crash: 0.08 };
const ORDERED_INBOX: ConsumerSetup = {
  concurrency: 4, extraPrefetch: 2, ordered: true, inbox: true, competing: true, brokerRetry: true, brokerOrdering: "key", brokerDeadLetter: true,
  timeoutMs: 0, interruptions: [{ afterStarts: 6, how: "kill" }, { afterStarts: 10, how: "kill" }], restartMs: 10, closeDeadlineMs: 5,
};

const CASES: ReadonlyArray<{ readonly name: string; readonly schedule: Schedule }> = [
  {
    name: "regression - ordered inbox consumers, two competing, killed twice, under every broker fault",
    schedule: nasty(1_690_001, ALL_FAULTS, ORDERED_INBOX),
  },
  {
    name: "regression - in-process retries with timeouts: a timed-out handler keeps running beside its retry",
    schedule: nasty(1_690_002, ALL_FAULTS, { ...ORDERED_INBOX, brokerRetry: false, timeoutMs: 6 }),
  },
  {
    name: "regression - one key (one global lane), a crashed bus left dangling, then a graceful close mid-handler",
    schedule: nasty(1_690_003, ALL_FAULTS, { ...ORDERED_INBOX, competing: false, concurrency: 8, interruptions: [{ afterStarts: 5, how: "crash" }, { afterStarts: 8, how: "close" }], closeDeadlineMs: 1 }, 60, 1),
  },
  {
    name: "regression - one lane, slow attempts timing out, the bus killed mid-run (inbox)",
    schedule: nasty(1_690_004, { dropAck: 0.05, duplicate: 0.05, maxDelayMs: 1, crash: 0.02 }, { ...ORDERED_INBOX, competing: false, concurrency: 1, timeoutMs: 5, interruptions: [{ afterStarts: 9, how: "kill" }] }, 20, 1),
  },
  {
    name: "regression - unordered competing consumers without the inbox: duplicates allowed and counted, nothing lost",
    schedule: nasty(1_690_005, { ...ALL_FAULTS, duplicate: 0.5 }, { ...ORDERED_INBOX, ordered: false, inbox: false, concurrency: 8 }),
  },
];

describe("property - fixed nasty schedules", () => {
  for (const { name, schedule } of CASES) {
    it(name, async () => {
      const outcome = await runChecked(schedule);
      expect(outcome.interruptionsDone).toBe(schedule.consumers.interruptions.length);
      expect(outcome.broker.droppedAcks + outcome.broker.duplicates + outcome.broker.crashes).toBeGreaterThan(outcome.interruptionsDone);
      if (schedule.faults.duplicate >= 0.3) expect(outcome.broker.duplicates).toBeGreaterThan(0);
      expect(outcome.instances.reduce((n, i) => n + i.retried, 0)).toBeGreaterThan(0);
      expect(outcome.deadLettered.length).toBeGreaterThan(0);
    });
  }

  it("replay - on fake time a schedule runs the same way twice: same effects, same broker counters", async () => {
    const schedule = CASES[0]!.schedule;
    const trace = async (): Promise<string> => {
      const o = await onVirtualTime(() => runSchedule(schedule), SCHEDULE_LIMITS);
      return JSON.stringify({ effects: o.effects.map((e) => [e.message, e.instance, e.attempt, e.at]), broker: o.broker, instances: o.instances });
    };
    expect(await trace()).toEqual(await trace());
  });
});

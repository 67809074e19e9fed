/**
 * Contract violations the property found in the runtime (2026-11), pinned as
 * minimal fixed schedules now that they are fixed:
 * - a delivery whose lease was lost was retried to the end of its budget
 *   (feeding the breaker, and dead-lettering a message handled elsewhere);
 *   the failure policy now abandons it at once (`action: "abandon"`);
 * - on a broker that does not block keys, the later messages of a key a
 *   consumer already held ran before the redelivery of the one whose lease
 *   was lost; they are now given back (runtime/stale-keys.ts).
 * What remains open on fifo brokers is in schedule.ts (`promisesKeyOrder`).
 */
import { describe, expect, it } from "vitest";
import { keyOrderViolations, violations } from "./invariants.js";
import { SCHEDULE_LIMITS } from "./run-checked.js";
import { runSchedule, type Outcome } from "./run-schedule.js";
import { PLAN, type Schedule } from "./schedule.js";
import { onVirtualTime } from "./virtual-time.js";

const each = <T>(f: (m: number) => T): T[] => Array.from({ length: 60 }, (_, m) => f(m));

/**
 * One key, 12 messages, one consumer with the inbox and in-process retries
 * (the transport has no nativeDelay), and only the duplicate fault: a
 * message handed out a second time while its first delivery is still held.
 */
function leaseLostSchedule(seed: number, patch: Partial<Schedule["consumers"]> = {}, plan = PLAN.failBefore(1)): Schedule {
  return {
    seed,
    faults: { dropAck: 0, duplicate: 0.2, maxDelayMs: 0, crash: 0 },
    workload: { messages: 12, keys: 1, keyOf: each(() => 0), plan: each(() => plan), handlerMs: each(() => 1), error: "transient", publishGapMs: 0 },
    consumers: {
      concurrency: 1, extraPrefetch: 3, ordered: true, inbox: true, competing: false, brokerRetry: false, brokerOrdering: "key", brokerDeadLetter: true,
      timeoutMs: 0, interruptions: [], restartMs: 0, closeDeadlineMs: 0, ...patch,
    },
  };
}

const run = (schedule: Schedule): Promise<Outcome> => onVirtualTime(() => runSchedule(schedule), SCHEDULE_LIMITS);

describe("property - contract violations the property found, fixed in the runtime", () => {
  /*
   * Finding 1. LeaseLostError is retryable (isRetryable), so when the inbox
   * transaction of a delivery whose lease another delivery took fails with it,
   * the consumer retried in-process: every later attempt failed the
   * same way, up to the whole budget (20 here), each failure feeding the
   * circuit breaker, which opens and pauses fetching for every key; at the end
   * it dead-letters a message it no longer holds. A lost lease should end the
   * delivery at once: no retry, no breaker failure, no dead letter.
   * Minimal schedule: seed 2; message attempts run 1, 2, ..., 20 on one delivery.
   */
  it("regression - a delivery whose lease was lost is abandoned at once: not retried to the end of its budget, no breaker", async () => {
    const outcome = await run(leaseLostSchedule(2));
    expect(outcome.broker.duplicates).toBeGreaterThan(0);
    // Planned: each message fails its first attempt only; a duplicate adds one delivery.
    expect(Math.max(...outcome.starts.map((s) => s.attempt))).toBeLessThanOrEqual(4);
    expect(outcome.log.filter((line) => line.includes("circuit breaker open"))).toEqual([]);
  });

  /*
   * Finding 1, worse without nativeDeadLetter: the runtime's fallback publishes
   * the stale delivery to missive.dlq.<group> (that succeeds) and then acks
   * (that fails with LeaseLostError). Messages that never failed at all are
   * handled by their duplicate delivery AND sit in the dead-letter queue; a
   * redrive would run them again. Minimal schedule: seed 2, no planned
   * failures; messages 0, 2 and 9 are both handled and dead-lettered.
   */
  it("regression - without nativeDeadLetter a handled message is not also dead-lettered after a lost lease", async () => {
    const outcome = await run(leaseLostSchedule(2, { brokerDeadLetter: false }, 0));
    expect(outcome.broker.duplicates).toBeGreaterThan(0);
    expect(outcome.deadLettered).toEqual([]);
  });

  /*
   * Finding 2. On a transport without key blocking (ordering "fifo"), ADR 001
   * says the lanes order what one consumer holds and in-process retries keep a
   * later message from overtaking. After a lost lease they do not: the stale
   * delivery of message A heads its lane (retrying, per finding 1, then
   * failing), the lane runs B next, and A's valid redelivery, received after
   * B, runs last. Minimal schedule: seed 3; first effects 0,1,2,3,5,4,...
   */
  it("regression - fifo broker with native delay: after a duplicate delivery the held later messages are given back, none overtakes (seed 3)", async () => {
    const schedule = leaseLostSchedule(3, { brokerOrdering: "fifo", brokerRetry: true });
    const outcome = await run(schedule);
    expect(outcome.broker.duplicates).toBeGreaterThan(0);
    expect(keyOrderViolations(schedule, outcome)).toEqual([]);
  });

  /*
   * Finding 2, through a connection-level crash (the subscription loses every
   * delivery it holds, the process lives on, as when an AMQP channel drops):
   * the lane still runs the deliveries it had prefetched. Poison message 3
   * fails to dead-letter (its lease is gone) and the stale deliveries of 4, 5
   * and 6 run their handlers before 3's redelivery is dead-lettered (§4: a key
   * waits "until it succeeds or is dead-lettered"). Without the inbox these are
   * real effects. Minimal schedule: seed 7, fifo, crash fault 0.1, no inbox.
   */
  it("regression - fifo broker: after a subscription crash the lane gives back stale later messages until the earlier poison is dead-lettered (seed 7)", async () => {
    const base = leaseLostSchedule(7, { inbox: false, brokerRetry: true, brokerOrdering: "fifo" });
    const schedule: Schedule = {
      ...base,
      faults: { dropAck: 0, duplicate: 0, maxDelayMs: 0, crash: 0.1 },
      workload: { ...base.workload, plan: each((m) => (m === 3 ? PLAN.poison : 0)) },
    };
    const outcome = await run(schedule);
    expect(outcome.broker.crashes).toBeGreaterThan(0);
    expect(keyOrderViolations(schedule, outcome)).toEqual([]);
  });

  it("regression - the key broker with native dead letters keeps the whole contract on the same schedule", async () => {
    // The key broker with native dead letters keeps order and loses nothing despite finding 1.
    const schedule = leaseLostSchedule(2);
    expect(violations(schedule, await run(schedule))).toEqual([]);
  });
});

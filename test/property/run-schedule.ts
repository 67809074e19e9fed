/**
 * Run one schedule through the real runtime (`missive`, `bus.publish`,
 * `bus.consume`) on a memory broker built from the schedule's seed, and
 * record what happened: which publishes were confirmed, every effect, every
 * handler start, what was dead-lettered, and the broker's counters.
 * Judging the outcome is invariants.ts's job.
 *
 * Meant to run on the fake clock (virtual-time.ts): every wait here is a
 * timer, so the whole run is a function of the schedule.
 */
import { z } from "zod";
import { defineMessage, missive, PermanentError, TransientError, type Bus, type Consumer, type HandlerContext } from "../../src/index.js";
import { createMemoryBroker, createRng, type MemoryBroker, type MemoryBrokerStats, type MemoryTransport, type MemoryTx } from "../../src/transports/memory/index.js";
import { captureLogger, readDeadLetters, sleep, Waiter, type DeadLetterSeen } from "./run-support.js";
import { keyIndex, messagesOfKey, PLAN, SLOW_MS, type Interruption, type Schedule } from "./schedule.js";

export const Work = defineMessage({
  type: "property.work",
  schema: z.object({ n: z.number().int().nonnegative(), key: z.string() }),
  key: (w) => w.key,
});

export const GROUP = "work";
/** Fake ms to wait for the broker to drain before calling the run stuck. */
export const DRAIN_TIMEOUT_MS = 600_000;

/** One effect: a handler's write, as a database would see it. */
export interface Effect {
  readonly message: number;
  readonly instance: number;
  readonly attempt: number;
  readonly at: number;
  /** Made after its bus was killed: impossible by construction, checked as a guard on the test itself. */
  readonly zombie: boolean;
}

/** Two different messages of one key ran their handlers at once. */
export interface LaneOverlap {
  readonly key: number;
  readonly running: number;
  readonly started: number;
  readonly at: number;
}

export interface InstanceReport {
  readonly instance: number;
  readonly crashed: boolean;
  readonly retired: boolean;
  readonly concurrency: number;
  readonly peakInFlight: number;
  readonly handled: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly duplicates: number;
  readonly starts: number;
}

export interface Outcome {
  /** Per message: its publish() resolved. */
  readonly confirmed: readonly boolean[];
  readonly publishErrors: readonly string[];
  readonly effects: readonly Effect[];
  /** Every handler start, in order (the inbox's duplicate check runs before, so these are real runs). */
  readonly starts: ReadonlyArray<{ readonly message: number; readonly instance: number; readonly attempt: number; readonly at: number }>;
  /** Handlers of a killed bus that reached their effect and stopped there (a dead process does nothing). */
  readonly killedBeforeEffect: number;
  readonly overlaps: readonly LaneOverlap[];
  /** The dead-letter store at the end: which message, dead-lettered when (fake ms). */
  readonly deadLettered: readonly DeadLetterSeen[];
  readonly drained: boolean;
  /** Fake ms from the first publish until the broker drained (or gave up). */
  readonly elapsedMs: number;
  readonly interruptionsDone: number;
  readonly broker: MemoryBrokerStats;
  readonly instances: readonly InstanceReport[];
  /** The runtime's warnings and errors, oldest first (bounded). */
  readonly log: readonly string[];
}

/** What the handlers of one consumer bus (one "process") share. */
interface Process {
  readonly id: number;
  /** False once crashed: a SIGKILLed process makes no more effects. */
  alive: boolean;
  /** Handlers started. */
  starts: number;
}

interface Instance {
  readonly process: Process;
  readonly bus: Bus;
  readonly consumer: Consumer;
  /** Interrupted and replaced: no longer counted when waiting for the drain. */
  retired: boolean;
}

/**
 * Deliberately wrong setups, for the tests that prove the invariants can
 * fail: the schedule (and so what the checks expect) stays the same, only
 * the runtime is configured against the contract.
 */
export interface Sabotage {
  /** Consume with `delivery: "at-most-once"` (ack before handling). */
  readonly atMostOnce?: boolean;
  /** Consume with `idempotency: "none"` even when the schedule asks for the inbox. */
  readonly noInbox?: boolean;
  /** Consumer transports without key ordering (the broker may reorder a key). */
  readonly noKeyOrdering?: boolean;
}

export async function runSchedule(schedule: Schedule, sabotage: Sabotage = {}): Promise<Outcome> {
  const { workload, consumers: setup } = schedule;
  const broker: MemoryBroker = createMemoryBroker({ seed: schedule.seed, faults: schedule.faults });
  // The runtime's jitter gets its own seeded stream, so it never shifts the broker's fault draws.
  const random = createRng((schedule.seed ^ 0x5eed_1e55) >>> 0).next;
  const log: string[] = [];
  const logger = captureLogger(log);
  const transportOverrides = {
    capabilities: {
      ...(setup.brokerRetry ? {} : { nativeDelay: false }),
      ...(setup.brokerDeadLetter ? {} : { nativeDeadLetter: false }),
      ordering: sabotage.noKeyOrdering === true ? ("none" as const) : setup.brokerOrdering,
    },
  };
  const useInbox = setup.inbox && sabotage.noInbox !== true;

  const confirmed: boolean[] = Array.from({ length: workload.messages }, () => false);
  const publishErrors: string[] = [];
  const effects: Effect[] = [];
  const starts: Array<{ message: number; instance: number; attempt: number; at: number }> = [];
  const overlaps: LaneOverlap[] = [];
  const running = new Map<number, Map<number, number>>(); // key → message → handlers running
  let killedBeforeEffect = 0;
  const waiter = new Waiter();
  const instances: Instance[] = [];
  let nextInstanceId = 1;

  const failure = (message: number, attempt: number, where: string): Error =>
    workload.error === "transient"
      ? new TransientError(`message ${message} attempt ${attempt} fails ${where} (planned)`)
      : new Error(`message ${message} attempt ${attempt} fails ${where} (planned, unclassified)`);

  const handlerFor = (proc: Process) => async (data: { n: number }, ctx: HandlerContext<MemoryTx>): Promise<void> => {
    const message = data.n;
    const key = keyIndex(workload, message);
    const attempt = ctx.attempt;
    proc.starts++;
    starts.push({ message, instance: proc.id, attempt, at: Date.now() });
    waiter.nudge();
    const lane = running.get(key) ?? new Map<number, number>();
    running.set(key, lane);
    for (const [other, count] of lane) if (other !== message && count > 0) overlaps.push({ key, running: other, started: message, at: Date.now() });
    lane.set(message, (lane.get(message) ?? 0) + 1);
    try {
      const plan = workload.plan[message] ?? 0;
      const ms = (workload.handlerMs[message] ?? 0) + (attempt <= 3 && (plan & PLAN.slow) !== 0 ? SLOW_MS : 0);
      if (ms > 0) await sleep(ms);
      if ((plan & PLAN.poison) !== 0) throw new PermanentError(`message ${message} is poison (planned)`);
      if (attempt <= 3 && (plan & PLAN.failBefore(attempt)) !== 0) throw failure(message, attempt, "before its effect");
      if (!proc.alive) {
        // A killed process runs no more code. JavaScript cannot stop this handler, so it stops itself
        // right before its effect (ctx.transaction reaches the inbox synchronously: nothing slips in between).
        killedBeforeEffect++;
        throw new Error(`message ${message}: the bus running this handler was killed`);
      }
      const record = (): void => void effects.push({ message, instance: proc.id, attempt, at: Date.now(), zombie: !proc.alive });
      if (useInbox) await ctx.transaction((tx) => tx.onCommit(record));
      else record();
      if (attempt <= 3 && (plan & PLAN.failAfter) !== 0) throw failure(message, attempt, "after its effect");
    } finally {
      lane.set(message, lane.get(message)! - 1);
    }
  };

  const startInstance = async (): Promise<Instance> => {
    const bus = await missive({ transport: broker.transport(transportOverrides), inbox: broker.inbox(), service: "property-consumer", random, logger });
    const proc: Process = { id: nextInstanceId++, alive: true, starts: 0 };
    const consumer = bus.consume<typeof Work, MemoryTx>(
      Work,
      {
        group: GROUP,
        concurrency: setup.concurrency,
        prefetch: setup.concurrency + setup.extraPrefetch,
        ordered: setup.ordered,
        lease: 30,
        retry: { delays: ["1ms", "3ms"], attempts: 20 },
        ...(setup.timeoutMs > 0 ? { timeout: setup.timeoutMs } : {}),
        idempotency: useInbox ? "inbox" : "none",
        ...(sabotage.atMostOnce === true ? { delivery: "at-most-once" as const } : {}),
      },
      handlerFor(proc),
    );
    await consumer.ready;
    const instance: Instance = { process: proc, bus, consumer, retired: false };
    instances.push(instance);
    return instance;
  };

  const producer = await missive({ transport: broker.transport(), service: "property-producer", random, logger });
  let first = await startInstance();
  if (setup.competing) await startInstance();

  const startedAt = Date.now();
  let publishing = true;
  const publishes = Array.from({ length: workload.keys }, async (_, key) => {
    // One key's messages are published one after another, so their publish order is defined.
    for (const message of messagesOfKey(workload, key)) {
      try {
        await producer.publish(Work, { n: message, key: `k${key}` });
        confirmed[message] = true;
      } catch (err) {
        publishErrors.push(`message ${message}: ${String(err)}`);
      }
      if (workload.publishGapMs > 0) await sleep(workload.publishGapMs);
    }
  });
  void Promise.all(publishes).then(() => (publishing = false));

  const drained = (): boolean => {
    if (publishing) return false;
    if ((broker.stats().queues[GROUP]?.depth ?? 0) > 0) return false;
    return instances.every((i) => i.retired || i.consumer.stats().held === 0);
  };

  const interrupt = async (instance: Instance, how: Interruption["how"]): Promise<void> => {
    if (how === "close") {
      // A rolling deploy: the process lives on, so late effects of handlers past the deadline still count.
      await instance.bus.close({ deadline: setup.closeDeadlineMs });
      return;
    }
    // SIGKILL: nothing settled, nothing released; its leases run out on the broker.
    instance.process.alive = false;
    (instance.bus.transport as MemoryTransport).crash();
    if (how === "kill") await instance.bus.close({ deadline: 0 });
  };

  let interruptionsDone = 0;
  for (const { afterStarts, how } of setup.interruptions) {
    const reached = await waiter.until(() => first.process.starts >= afterStarts || drained(), DRAIN_TIMEOUT_MS);
    if (!reached || first.process.starts < afterStarts) break;
    await interrupt(first, how);
    first.retired = true;
    interruptionsDone++;
    if (setup.restartMs > 0) await sleep(setup.restartMs);
    first = await startInstance();
  }

  const isDrained = await waiter.until(drained, DRAIN_TIMEOUT_MS);
  const elapsedMs = Date.now() - startedAt;
  const reports: InstanceReport[] = instances.map((i) => {
    const stats = i.consumer.stats();
    return {
      instance: i.process.id, crashed: !i.process.alive, retired: i.retired, concurrency: setup.concurrency, peakInFlight: stats.peakInFlight, handled: stats.handled,
      retried: stats.retried, deadLettered: stats.deadLettered, duplicates: stats.duplicates, starts: i.process.starts,
    };
  });
  // Every bus is closed at the end, crashed ones too (their loops would otherwise keep waiting on a dead connection).
  await Promise.all(instances.map((i) => i.bus.close({ deadline: 1000 })));
  await producer.close({ deadline: 1000 });

  const deadLettered = await readDeadLetters(broker, GROUP);
  return {
    confirmed, publishErrors, effects, starts, killedBeforeEffect, overlaps, deadLettered, drained: isDrained, elapsedMs, interruptionsDone,
    broker: broker.stats(), instances: reports, log,
  };
}

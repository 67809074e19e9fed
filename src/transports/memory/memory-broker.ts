/**
 * The memory broker: shared state for any number of memory transports, a
 * seeded fault simulator, and a process-wide registry of named brokers so
 * `memory://name` resolves to the same broker everywhere in the process.
 */
import { ConfigurationError } from "../../errors.js";
import { BrokerState, type BrokerCounters } from "./broker-state.js";
import type { FaultOptions } from "./faults.js";
import { memoryInbox, type MemoryInbox } from "./memory-inbox.js";
import { queueStats } from "./memory-stats.js";
import { createMemoryTransport, type MemoryTransport, type MemoryTransportOverrides } from "./memory-transport.js";
import { randomSeed } from "./rng.js";

export interface MemoryBrokerOptions {
  /** Seed of the RNG behind every fault decision. Default: random (read it back from `broker.seed`). */
  readonly seed?: number;
  /** Faults to inject. Default: none. */
  readonly faults?: FaultOptions;
}

export interface MemoryQueueStats {
  /** Rows in the queue: waiting, leased, or scheduled for later. */
  readonly depth: number;
  /** Rows under a live lease. */
  readonly inFlight: number;
  /** Rows neither leased nor visible yet (delay, retry backoff, latency). */
  readonly scheduled: number;
}

export interface MemoryBrokerStats extends Readonly<BrokerCounters> {
  /** Per consumer group. */
  readonly queues: Readonly<Record<string, MemoryQueueStats>>;
  /** Entries in the dead-letter store now. */
  readonly deadLetters: number;
}

export interface MemoryBroker {
  /** The seed in use: print it when a property fails, pass it back to replay the schedule. */
  readonly seed: number;
  readonly faults: Readonly<Required<FaultOptions>>;
  /** A new transport (a new "process") connected to this broker. */
  transport(overrides?: MemoryTransportOverrides): MemoryTransport;
  /**
   * The broker's own inbox, the same one on every call: like a database
   * shared by every process that uses this broker (`memory://name`).
   */
  inbox(): MemoryInbox;
  /** A snapshot of the counters and queue depths. */
  stats(): MemoryBrokerStats;
}

export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const seed = options.seed ?? randomSeed();
  if (!Number.isInteger(seed)) throw new ConfigurationError(`memory broker: seed must be an integer, got ${String(seed)}`);
  const state = new BrokerState(seed, options.faults);
  const inbox = memoryInbox();
  return {
    seed: state.rng.seed,
    faults: state.faults.options,
    transport: (overrides) => createMemoryTransport(state, overrides),
    inbox: () => inbox,
    stats: () => snapshot(state),
  };
}

function snapshot(state: BrokerState): MemoryBrokerStats {
  // The same per-group counts as the seam's stats(), under the broker's own names.
  const queues = queueStats(state, false).map((q): [string, MemoryQueueStats] => [q.group, { depth: q.depth, inFlight: q.inFlight, scheduled: q.delayed }]);
  return { ...state.counters, queues: Object.fromEntries(queues), deadLetters: state.deadLetters.size };
}

/** A fresh broker and one transport on it. */
export function memoryTransport(options: MemoryBrokerOptions & MemoryTransportOverrides = {}): MemoryTransport {
  return createMemoryBroker(options).transport(options);
}

const named = new Map<string, MemoryBroker>();

/**
 * The process-wide broker called `name`, created (with `options`) on first
 * use; later calls return the same broker and ignore `options`.
 */
export function memoryBrokerNamed(name: string, options?: MemoryBrokerOptions): MemoryBroker {
  let broker = named.get(name);
  if (broker === undefined) {
    broker = createMemoryBroker(options);
    named.set(name, broker);
  }
  return broker;
}

/** Drop a named broker from the registry (its transports keep working); true when it existed. */
export function forgetMemoryBroker(name: string): boolean {
  return named.delete(name);
}

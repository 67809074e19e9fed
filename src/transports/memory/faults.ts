/**
 * Seeded fault injection for the memory broker.
 *
 * Every decision is drawn from the broker's seeded RNG, in the order the
 * broker makes them, so one seed plus one sequence of calls replays one
 * schedule. A property test prints `broker.seed` when it fails and replays
 * it with `createMemoryBroker({ seed, faults })`.
 *
 * The faults:
 *  - `dropAck`: an `ack()` (or the inbox's in-transaction ack) resolves but
 *    is not applied. The consumer believes it is done, nobody renews the
 *    lease, and the row comes back once the lease runs out (with leases
 *    disabled: when the transport closes or crashes).
 *  - `duplicate`: a row just handed out is marked so that it is handed out a
 *    second time while the first delivery is still unsettled, as when a
 *    lease is wrongly considered expired. The second claim takes the lease,
 *    so settling the first delivery rejects with LeaseLostError.
 *  - `maxDelayMs`: every enqueue (publish, retry) is made visible up to this
 *    many ms late, uniformly at random: deliveries of different keys are
 *    reordered.
 *  - `crash`: per settle call, the subscription "dies": every delivery it
 *    holds (this one included) is abandoned, their rows come back at once,
 *    and their settles reject with LeaseLostError. The subscription keeps
 *    receiving afterwards, like a restarted process. The memory inbox's ack
 *    commits atomically with its inbox row, so only `dropAck` applies there.
 *
 * The invariant the faults keep: what the seam promises for `ordering:
 * "key"` still holds. No fault removes a row from its queue except an
 * applied ack or dead-letter, so an unsettled, dropped-ack, abandoned or
 * retried row keeps blocking the later rows of its key; latency only delays
 * visibility, and a later row of the same key is still blocked by an
 * earlier invisible one. The single exception is `duplicate`, which hands
 * out a row that is already held: two deliveries of one message run at
 * once. It only ever duplicates the earliest unsettled row of its key, so
 * the first effects of each message still happen in key order; what it
 * tests is that consumers are idempotent (inbox) and survive LeaseLostError.
 */
import { ConfigurationError } from "../../errors.js";
import type { Rng } from "./rng.js";

export interface FaultOptions {
  /** Probability that an ack resolves but is silently not applied: the row comes back after its lease. Default 0. */
  readonly dropAck?: number;
  /** Probability that a delivered row is also handed out again while the first delivery is unsettled. Default 0. */
  readonly duplicate?: number;
  /** Random extra latency before an enqueued row becomes visible, 0..maxDelayMs ms; reorders keys. Default 0. */
  readonly maxDelayMs?: number;
  /** Probability per settle call that the subscription crashes and abandons every delivery it holds. Default 0. */
  readonly crash?: number;
}

/** The fault decisions, drawn from one RNG. */
export interface Faults {
  readonly options: Readonly<Required<FaultOptions>>;
  /** Should this ack be dropped? */
  dropAck(): boolean;
  /** Should this freshly claimed row be handed out a second time? */
  duplicate(): boolean;
  /** Extra latency for one enqueue, ms. */
  latency(): number;
  /** Does the subscription crash on this settle call? */
  crash(): boolean;
}

function probability(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigurationError(`memory broker: fault ${name} must be a probability in [0, 1], got ${String(value)}`);
  }
  return value;
}

/** Validate options (ConfigurationError) and bind them to the broker's RNG. */
export function createFaults(rng: Rng, options: FaultOptions = {}): Faults {
  const maxDelayMs = options.maxDelayMs ?? 0;
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) {
    throw new ConfigurationError(`memory broker: fault maxDelayMs must be a non-negative number, got ${String(maxDelayMs)}`);
  }
  const resolved: Required<FaultOptions> = Object.freeze({
    dropAck: probability("dropAck", options.dropAck),
    duplicate: probability("duplicate", options.duplicate),
    maxDelayMs: Math.floor(maxDelayMs),
    crash: probability("crash", options.crash),
  });
  return {
    options: resolved,
    dropAck: () => rng.chance(resolved.dropAck),
    duplicate: () => rng.chance(resolved.duplicate),
    latency: () => (resolved.maxDelayMs > 0 ? rng.int(resolved.maxDelayMs + 1) : 0),
    crash: () => rng.chance(resolved.crash),
  };
}

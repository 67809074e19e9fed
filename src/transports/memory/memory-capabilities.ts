/**
 * What a memory broker connection simulates. A superset of the seam's
 * capabilities: the memory transport can also turn off what real brokers
 * differ in (a dead-letter store, lease expiry, competing consumers, fifo
 * order), so the runtime's fill-ins run against each of them.
 */
import { PRIORITY_LEVELS } from "../../envelope/expiry-priority.js";
import type { AttemptCounting, TransportCapabilities } from "../../transport/transport.js";

export interface MemoryCapabilities {
  readonly nativeDelay: boolean;
  /** A browsable dead-letter store (the NativeDeadLetters ability). Off: the transport has no `deadLetters`. */
  readonly nativeDeadLetter: boolean;
  /** `fifo`: publish order per group, not key-aware (exposed to the runtime as `none`). */
  readonly ordering: "key" | "fifo" | "none";
  /** Unsettled deliveries come back after their lease even while the connection stays up. */
  readonly leases: boolean;
  /** Competing consumers in a group; off: one live subscription per group. */
  readonly consumerGroups: boolean;
  readonly maxMessageBytes: number;
  /** Claims take higher-priority messages first (never past an earlier message of the same key); off: publish order, and the runtime fills in. */
  readonly priorities: boolean;
  /**
   * What `Delivery.attempt` counts. `exact`: handler starts (a release is
   * not counted). `deliveries`: every delivery, releases and retries
   * included, like JetStream's `num_delivered`. `none`: always 0.
   */
  readonly attempts: AttemptCounting;
  /**
   * `transport`: a held delivery's lease never runs out. `runtime`: like
   * JetStream's ack wait, it runs out `leaseMs` after the claim or the last
   * `renewLease()`, and the row goes to the next receiver. Needs `leases`.
   */
  readonly leaseRenewal: "transport" | "runtime";
}

/** What the runtime sees of a simulated broker. */
export function seamCapabilities(simulated: MemoryCapabilities): TransportCapabilities {
  return Object.freeze({
    nativeDelay: simulated.nativeDelay,
    ordering: simulated.ordering === "key" ? "key" : "none",
    maxMessageBytes: simulated.maxMessageBytes,
    priorities: simulated.priorities ? PRIORITY_LEVELS : 0,
    attempts: simulated.attempts,
    leaseRenewal: simulated.leaseRenewal,
  });
}

/**
 * `bus.health()`: the bus's liveness and readiness in one snapshot, for
 * probes (src/health/http.ts serves it to Kubernetes).
 *
 * - live: the bus is open and none of its consumers failed. A failed consumer
 *   never consumes again (consumer-lifecycle.ts): a restart is what heals it
 *   (e.g. once the inbox migration ran), so it fails liveness.
 * - ready: live, the broker confirms (not `down`), the producer's breaker is
 *   not open, and every consumer is `running` (none still starting).
 *
 * A consumer's own breaker and the spool's depth are reported, not judged: a
 * consumer whose handler's downstream fails is working as designed, and a
 * spool that takes messages during an outage is the producer doing its job.
 */
import type { ConsumerStats } from "./consumer.js";
import type { ConsumerState } from "./consumer-lifecycle.js";
import type { BreakerState } from "./circuit-breaker.js";
import type { ProducerStatus } from "./status.js";

export interface ConsumerHealth {
  readonly group: string;
  readonly state: ConsumerState;
  readonly breaker: BreakerState;
  /** Deliveries held now. */
  readonly held: number;
}

export interface BusHealth {
  readonly live: boolean;
  readonly ready: boolean;
  /** Why not live or not ready, one short sentence each; empty when both hold. */
  readonly reasons: readonly string[];
  /** `closed` once `close()` was called. */
  readonly bus: "open" | "closed";
  readonly broker: "up" | "down" | "unknown";
  readonly breaker: BreakerState | "unknown";
  readonly spool: ProducerStatus["spool"];
  readonly consumers: readonly ConsumerHealth[];
}

export interface HealthInputs {
  readonly closed: boolean;
  /** The producer's status; undefined once the bus is closed (its spool file is gone). */
  readonly producer: ProducerStatus | undefined;
  readonly consumers: readonly { readonly group: string; stats(): ConsumerStats }[];
}

export function assessHealth(inputs: HealthInputs): BusHealth {
  const consumers = inputs.consumers.map((c): ConsumerHealth => {
    const s = c.stats();
    return { group: c.group, state: s.state, breaker: s.breaker, held: s.held };
  });
  const notLive: string[] = [];
  const notReady: string[] = [];
  if (inputs.closed) notLive.push("the bus is closed");
  for (const c of consumers) {
    if (c.state === "failed") notLive.push(`consumer ${c.group} failed`);
    else if (c.state !== "running") notReady.push(`consumer ${c.group} is ${c.state}`);
  }
  const p = inputs.producer;
  if (p?.broker === "down") notReady.push("the broker is down");
  if (p?.breaker === "open") notReady.push("the producer's circuit breaker is open");
  const live = notLive.length === 0;
  return {
    live,
    ready: live && notReady.length === 0,
    reasons: [...notLive, ...notReady],
    bus: inputs.closed ? "closed" : "open",
    broker: p?.broker ?? "unknown",
    breaker: p?.breaker ?? "unknown",
    spool: p?.spool,
    consumers,
  };
}

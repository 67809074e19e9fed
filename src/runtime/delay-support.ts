/**
 * Who delays, in one place (ADR 008). A transport with `nativeDelay` delays
 * publishes and retries in the broker. One without is wrapped by the bus in
 * the runtime delay fill (delay-fill.ts), which the runtime recognises here:
 * the capability stays honest (`nativeDelay: false`), and the producer and the
 * consumer ask these functions instead of reading it themselves.
 */
import type { Transport } from "../transport/transport.js";

/**
 * The header that carries a message's due time through a broker without
 * delay: unix ms, written by the publisher, read (and removed before the
 * consumer sees the message) by the delay fill. Under the `missive-` prefix,
 * so a dead-letter replay strips it like every other runtime header.
 */
export const NOT_BEFORE_HEADER = "missive-not-before";

const filled = new WeakSet<Transport>();

/** Record that `transport` is the runtime delay fill around a transport without native delay. */
export function markRuntimeDelay(transport: Transport): void {
  filled.add(transport);
}

/** Whether `transport` is the runtime delay fill. */
export function delaysInRuntime(transport: Transport): boolean {
  return filled.has(transport);
}

/** Whether `OutgoingMessage.delayMs` is honoured: by the broker, or by the fill. */
export function acceptsDelayedPublish(transport: Transport): boolean {
  return transport.capabilities.nativeDelay || filled.has(transport);
}

/**
 * Whether a consumer retries through `Delivery.retry` (the delivery is
 * settled and its slot freed during the delay) or in-process (it stays held
 * and its lane waits out the delay).
 */
export function retriesThroughTransport(transport: Transport, ordered: boolean): boolean {
  const caps = transport.capabilities;
  // A broker-side retry lets later messages of the key overtake unless the broker itself blocks the key.
  if (caps.nativeDelay) return !ordered || caps.ordering === "key";
  // The fill's retry is a republished copy, behind every later message of its key whatever the broker's
  // ordering: only a consumer that does not ask for key order may use it.
  return filled.has(transport) && !ordered;
}

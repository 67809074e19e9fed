/**
 * The runtime's delay, for brokers without one (MQTT, Redis Streams; ADR 008):
 * a transport decorator the bus puts around a transport whose capabilities
 * say `nativeDelay: false`.
 *
 * - publish: a message with `delayMs` goes out at once, its due time in the
 *   `missive-not-before` header (unix ms);
 * - subscribe: deliveries are held until due (delayed-subscription.ts), and
 *   reach the runtime without that header;
 * - `Delivery.retry(delayMs, headers)`: a confirmed copy with a due time,
 *   then an ack (delayed-delivery.ts). The runtime uses it only where a copy
 *   at the back of the queue reorders nothing (delay-support.ts).
 *
 * Every ability of the inner transport is forwarded; the capabilities are
 * the inner ones, unchanged: the broker still cannot delay, and the runtime
 * recognises the fill through delay-support.ts.
 */
import type { Logger } from "../observability/logger.js";
import { forwardAbilities } from "../transport/forward-abilities.js";
import type { Delivery, OutgoingMessage, Transport } from "../transport/transport.js";
import { markRuntimeDelay } from "./delay-support.js";
import { DelayedDelivery, withNotBefore } from "./delayed-delivery.js";
import { DelayedSubscription } from "./delayed-subscription.js";

export function withRuntimeDelay(inner: Transport, log: Logger): Transport {
  const wrap = (delivery: Delivery): Delivery => new DelayedDelivery(delivery, inner);
  const transport: Transport = {
    name: inner.name,
    capabilities: inner.capabilities,
    connect: (context) => inner.connect(context),
    bind: (group, topics) => inner.bind(group, topics),
    publish: (batch) => inner.publish(batch.map(dueTimeInHeader)),
    subscribe: async (options) => new DelayedSubscription(await inner.subscribe(options), options, wrap, log),
    close: () => inner.close(),
  };
  forwardAbilities(transport, inner);
  markRuntimeDelay(transport);
  return transport;
}

/** A delayed message as the broker takes it: no `delayMs`, its due time in a header. Others unchanged. */
function dueTimeInHeader(message: OutgoingMessage): OutgoingMessage {
  if (message.delayMs === undefined) return message;
  const { delayMs, ...rest } = message;
  return { ...rest, wire: { headers: withNotBefore(message.wire.headers, delayMs), body: message.wire.body } };
}

/**
 * A transport as a broker without delay shows it to the runtime
 * (`nativeDelay: false`), with every receive call counted: the delay fill
 * runs on it as it would on MQTT or Redis Streams, and a test can tell a
 * waiting consumer from a spinning one.
 */
import { forwardAbilities } from "../../src/transport/forward-abilities.js";
import type { Subscription, Transport } from "../../src/transport/transport.js";

export interface CountedTransport extends Transport {
  /** Receive calls on this transport's subscriptions so far. */
  readonly receives: number;
}

export function withoutNativeDelay(inner: Transport): CountedTransport {
  let receives = 0;
  const counted = (sub: Subscription): Subscription => ({
    receive: (max, waitMs) => {
      receives++;
      return sub.receive(max, waitMs);
    },
    close: () => sub.close(),
  });
  const transport: CountedTransport = {
    name: inner.name,
    capabilities: { ...inner.capabilities, nativeDelay: false },
    get receives() {
      return receives;
    },
    connect: (context) => inner.connect(context),
    bind: (group, topics) => inner.bind(group, topics),
    publish: (batch) => inner.publish(batch),
    subscribe: async (options) => counted(await inner.subscribe(options)),
    close: () => inner.close(),
  };
  forwardAbilities(transport, inner);
  return transport;
}

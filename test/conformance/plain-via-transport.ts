/**
 * A plain client built on a raw Transport: no runtime, no codec, just headers
 * and bytes. For brokers whose "plain client" is the transport API itself
 * (memory); real brokers use their own client library instead.
 */
import type { Transport, WireMessage } from "../../src/index.js";
import type { PlainClient } from "./target.js";

export function plainViaTransport(transport: Transport): PlainClient {
  return {
    async publish(topic, headers, body) {
      await transport.connect();
      const [err] = await transport.publish([{ topic, id: headers["ce-id"] ?? "plain", key: headers["ce-key"], wire: { headers, body } }]);
      if (err) throw err;
    },
    async take(group, max) {
      await transport.connect();
      const sub = await transport.subscribe({ group, topics: [], prefetch: max, ordered: false, leaseMs: 30_000 });
      const out: WireMessage[] = [];
      try {
        const deliveries = await sub.receive(max, 200);
        for (const d of deliveries) {
          out.push(d.wire);
          await d.ack();
        }
      } finally {
        await sub.close();
      }
      return out;
    },
  };
}

/** The message every missive case sends: a small order event, its publish time in the data. */
import { z } from "zod";
import { defineMessage, type OutgoingMessage } from "../../src/index.js";
import { uuidv7 } from "../../src/envelope/uuidv7.js";
import { emptyHeaders } from "../../src/envelope/wire.js";

export const BenchEvent = defineMessage({
  type: "bench.event",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int(), note: z.string(), sentAt: z.number() }),
});

export function eventData(sentAt = 0): { orderId: string; totalCents: number; note: string; sentAt: number } {
  return { orderId: "4821", totalCents: 15900, note: "x".repeat(64), sentAt };
}

export const GROUP = "bench";

/** The CloudEvents headers missive's transports send with a bench event (binary mode, `ce-*`), for raw clients to send the same. */
export function ceHeaders(id: string): Record<string, string> {
  return {
    "ce-id": id, "ce-source": "bench", "ce-type": BenchEvent.type, "ce-specversion": "1.0", "ce-time": new Date().toISOString(),
    "ce-dataschema": `${BenchEvent.type}/v1`, "content-type": "application/json",
  };
}

/** A seam message (a transport's publish input) with the CloudEvents headers a publish needs, for the cases that drive a transport directly. */
export function seamMessage(topic: string, body: Buffer, options: { readonly key?: string; readonly source?: string; readonly contentType?: string } = {}): OutgoingMessage {
  const id = uuidv7();
  const headers = emptyHeaders();
  headers["ce-id"] = id;
  headers["ce-type"] = topic;
  headers["ce-source"] = options.source ?? "bench";
  headers["ce-specversion"] = "1.0";
  if (options.contentType !== undefined) headers["content-type"] = options.contentType;
  return { topic, id, key: options.key, wire: { headers, body } };
}

/** The message every missive case sends: a small order event, its publish time in the data. */
import { z } from "zod";
import { defineMessage } from "../../src/index.js";

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

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

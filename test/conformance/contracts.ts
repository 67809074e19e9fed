/** Contracts the conformance suite publishes and consumes. */
import { z } from "zod";
import * as v from "valibot";
import { defineMessage } from "../../src/index.js";

export const OrderPlaced = defineMessage({
  type: "conformance.order.placed",
  version: 2,
  schema: z.object({ orderId: z.string(), seq: z.number().int(), totalCents: z.number().int() }),
  key: (o) => o.orderId,
  upcast: { 1: (v1: { orderId: string; seq: number; total: number }) => ({ orderId: v1.orderId, seq: v1.seq, totalCents: Math.round(v1.total * 100) }) },
});

/** Valibot, to prove any Standard Schema works end to end. */
export const Ping = defineMessage({
  type: "conformance.ping",
  schema: v.object({ n: v.number() }),
});

export const Pong = defineMessage({
  type: "conformance.pong",
  schema: v.object({ n: v.number() }),
});

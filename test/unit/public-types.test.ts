/** The public types say what the runtime does: data typed from the schema, no `any` leaking out. */
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineMessage, type Bus, type HandlerContext, type MessageData, type MessageInput, type PublishReceipt } from "../../src/index.js";

const Order = defineMessage({
  type: "types.order",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int(), note: z.string().default("") }),
  key: (o) => o.orderId,
});

describe("public types", () => {
  it("types - data and input come from the schema", () => {
    expectTypeOf<MessageData<typeof Order>>().toEqualTypeOf<{ orderId: string; totalCents: number; note: string }>();
    expectTypeOf<MessageInput<typeof Order>>().toEqualTypeOf<{ orderId: string; totalCents: number; note?: string | undefined }>();
  });

  it("types - publish checks its data, consume types its handler", () => {
    const check = (bus: Bus): void => {
      expectTypeOf(bus.publish(Order, { orderId: "a", totalCents: 1 })).toEqualTypeOf<Promise<PublishReceipt>>();
      // @ts-expect-error totalCents must be a number
      void bus.publish(Order, { orderId: "a", totalCents: "1" });
      // @ts-expect-error orderId is required
      void bus.publish(Order, { totalCents: 1 });
      bus.consume(Order, { group: "g" }, (data, ctx) => {
        expectTypeOf(data).toEqualTypeOf<{ orderId: string; totalCents: number; note: string }>();
        expectTypeOf(ctx).toEqualTypeOf<HandlerContext<unknown>>();
        expectTypeOf(ctx.attempt).toBeNumber();
      });
    };
    void check;
  });
});

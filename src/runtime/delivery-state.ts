/**
 * Per-delivery bookkeeping shared between the consumer and the middleware it
 * builds (the inbox acks inside its transaction and says so here). Reached
 * through a symbol-keyed field of the handler context, so it is invisible to
 * user code but survives middleware that copies the context with `{ ...ctx }`.
 */
import type { Delivery } from "../transport/transport.js";

export const DELIVERY_STATE: unique symbol = Symbol("missive.delivery-state");

export interface DeliveryState {
  readonly delivery: Delivery;
  /** Set once the delivery was acked by someone other than the consumer (the inbox transaction). */
  settled: boolean;
  /** The handler's effects were already committed (by the inbox transaction). */
  committed: boolean;
  /**
   * Set by runtime middleware that stopped before the handler ran because the consumer is closing (a rate
   * limit's wait cut short): the delivery is given back untouched, not settled as a failed attempt.
   */
  givenBack: boolean;
}

export function deliveryStateOf(ctx: object): DeliveryState | undefined {
  return (ctx as { [DELIVERY_STATE]?: DeliveryState })[DELIVERY_STATE];
}

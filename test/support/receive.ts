import type { Delivery, Subscription } from "../../src/index.js";

/** Receive until `count` deliveries arrived or `waitMs` passed since the start. */
export async function receiveAtLeast(subscription: Subscription, count: number, waitMs = 2_000): Promise<Delivery[]> {
  const deadline = Date.now() + waitMs;
  const out: Delivery[] = [];
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    out.push(...(await subscription.receive(count - out.length, left)));
  }
  return out;
}

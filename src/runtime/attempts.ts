/**
 * Which attempt a delivery is, for the retry budget (docs/contract.md §5): only
 * handler starts count. Brokers differ in what their own delivery count
 * means (the `attempts` capability), so this is where the runtime decides
 * whether to believe it.
 */
import type { AttemptCounting } from "../transport/transport.js";

/**
 * This attempt's number, from 1, given the broker's count of this delivery
 * and the attempts recorded in the message's retry header (readRetryState).
 *
 * `exact`: the broker counts handler starts (redeliveries after a crash
 * included, releases not), so its count and the runtime's retry header are
 * both lower bounds: take the larger.
 *
 * `deliveries` (JetStream's `num_delivered`: every redelivery, releases and
 * naks included) and `none`: the broker's count would spend the budget on
 * releases, so the runtime counts on its own: the attempts header it writes
 * on every retry, plus this one. What that leaves out: a handler start that
 * ended in a crash (the process died before it could write a header) is not
 * counted, so a message that kills its worker every time is redelivered
 * until the broker's own limit (JetStream `max_deliver`) stops it. Counting
 * it would need a durable write before every handler start; that broker
 * limit is the cheaper guard.
 */
export function startingAttempt(deliveryAttempt: number, recordedAttempts: number, counting: AttemptCounting): number {
  const own = recordedAttempts + 1;
  return counting === "exact" && deliveryAttempt > own ? deliveryAttempt : own;
}

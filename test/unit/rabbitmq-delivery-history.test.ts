/**
 * The memory a RabbitMQ subscription counts redeliveries from (issue 14:
 * every connection reset added an attempt to every prefetched message).
 */
import { describe, expect, it } from "vitest";
import { DeliveryHistory } from "../../src/transports/rabbitmq/delivery-history.js";

describe("rabbitmq delivery history", () => {
  it("rabbitmq delivery history - a fresh copy has its carried attempts; a redelivery of an unstarted delivery adds none, of a started one adds one", () => {
    const h = new DeliveryHistory(10);
    expect(h.priorOf("a", 2, 0)).toBe(2);
    h.handed("a", 2, 0, 2);
    expect(h.priorOf("a", 2, 1)).toBe(2); // lost before its handler started
    h.handed("a", 2, 1, 2);
    h.started("a", 2);
    expect(h.priorOf("a", 2, 2)).toBe(3); // its handler started: one attempt
  });

  it("rabbitmq delivery history - a gap in the broker's count, another retry copy, a classic queue or a forgotten id is left to the ledger", () => {
    const h = new DeliveryHistory(2);
    h.handed("a", 0, 0, 0);
    expect(h.priorOf("a", 0, 2)).toBeUndefined(); // returned once where memory did not see it
    expect(h.priorOf("a", 1, 1)).toBeUndefined(); // a retry copy of its own
    expect(h.priorOf("a", 0, undefined)).toBeUndefined(); // a classic queue: no count
    h.handed("b", 0, 0, 0);
    h.handed("c", 0, 0, 0);
    expect(h.priorOf("a", 0, 1)).toBeUndefined(); // the oldest went first
    expect(h.priorOf("c", 0, 1)).toBe(0);
  });

  it("rabbitmq delivery history - a start of an older delivery of the id does not mark the newer one", () => {
    const h = new DeliveryHistory(10);
    h.handed("a", 0, 0, 0);
    h.started("a", 0);
    h.handed("a", 0, 1, 1);
    h.started("a", 0); // late word of the first delivery
    expect(h.priorOf("a", 0, 2)).toBe(1);
  });

  it("rabbitmq delivery history - after a lost channel, at most the pushes it could not have seen are taken as lost on their way", () => {
    const h = new DeliveryHistory(10);
    expect(h.takeUnseen()).toBe(false); // no channel lost: every unexplained return counts
    h.channelLost(2);
    h.channelLost(1); // a smaller bound does not shrink what is still unmatched
    expect([h.takeUnseen(), h.takeUnseen(), h.takeUnseen()]).toEqual([true, true, false]);
  });
});

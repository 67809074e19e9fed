import { describe, expect, it } from "vitest";
import { ConnectionError, TransientError } from "../errors.js";
import { noopLogger } from "../observability/logger.js";
import { CircuitBreaker } from "../runtime/circuit-breaker.js";
import { HANDLED, HANDLED_ACKED, failed } from "../runtime/outcome.js";
import { Settler } from "../runtime/settle.js";
import type { Transport } from "../transport/transport.js";
import { FakeDelivery, job } from "../../test/support/stage-jobs.js";
import { atMostOnceStage } from "./at-most-once.js";

function settler(): Settler {
  const counts = { handled: 0, retried: 0, deadLettered: 0, duplicates: 0, settleFailures: 0 };
  const breaker = new CircuitBreaker({ threshold: 0, cooldownMs: 1, maxCooldownMs: 1 }, () => 0.5, () => undefined);
  return new Settler({ transport: {} as Transport, group: "g", log: noopLogger, counts, breaker, deadLetters: undefined, stop: () => undefined, leaseLost: () => undefined });
}

describe("at-most-once stage", () => {
  it("at-most-once - acks before the handler runs; a failure is dropped, not retried", async () => {
    const delivery = new FakeDelivery();
    let ackedFirst = false;
    const ok = await atMostOnceStage(settler())(() => ((ackedFirst = delivery.settles[0] === "ack"), Promise.resolve(HANDLED)))(job({ delivery }));
    expect(ok).toBe(HANDLED_ACKED);
    expect(ackedFirst).toBe(true);
    const dropped = await atMostOnceStage(settler())(() => Promise.resolve(failed(new TransientError("x"))))(job());
    expect(dropped).toMatchObject({ kind: "dropped" });
  });

  it("at-most-once - an ack the broker refuses: the handler does not run", async () => {
    const delivery = new FakeDelivery();
    delivery.refuse = new ConnectionError("down");
    let ran = false;
    const outcome = await atMostOnceStage(settler())(() => ((ran = true), Promise.resolve(HANDLED)))(job({ delivery }));
    expect(outcome).toMatchObject({ kind: "settle-failed", intended: "handled" });
    expect(ran).toBe(false);
  });
});

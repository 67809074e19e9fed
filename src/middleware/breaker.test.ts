import { describe, expect, it } from "vitest";
import { DecodeError, DuplicateMessageError, LeaseLostError, PermanentError, TransientError } from "../errors.js";
import { CircuitBreaker } from "../runtime/circuit-breaker.js";
import { HANDLED, failed, type Outcome } from "../runtime/outcome.js";
import { job } from "../../test/support/stage-jobs.js";
import { breakerStage } from "./breaker.js";

/** These cases read `breaker.state` directly; the change listener's output is not under test here. */
function ignoreStateChanges(): void {}

describe("breaker stage", () => {
  it("breaker - counts failures a retry could be about, and a success closes it", async () => {
    const breaker = new CircuitBreaker({ threshold: 2, cooldownMs: 1000, maxCooldownMs: 1000 }, () => 0.5, ignoreStateChanges);
    const through = (outcome: Outcome) => breakerStage(breaker)(() => Promise.resolve(outcome))(job());
    for (const error of [new DecodeError("d"), new LeaseLostError("l"), new DuplicateMessageError("x")]) await through(failed(error));
    expect(breaker.state).toBe("closed");
    await through(failed(new TransientError("t")));
    await through(HANDLED);
    await through(failed(new Error("unknown")));
    expect(breaker.state).toBe("closed");
    await through(failed(new Error("unknown")));
    expect(breaker.state).toBe("open");
  });

  it("breaker - a run of permanent refusals never opens it (before, ten of them paused fetching)", async () => {
    const breaker = new CircuitBreaker({ threshold: 2, cooldownMs: 1000, maxCooldownMs: 1000 }, () => 0.5, ignoreStateChanges);
    const through = (outcome: Outcome) => breakerStage(breaker)(() => Promise.resolve(outcome))(job());
    await through(failed(new TransientError("t")));
    for (let i = 0; i < 50; i++) await through(failed(new PermanentError("p")));
    expect(breaker.state).toBe("closed");
  });
});

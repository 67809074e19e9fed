import { describe, expect, it } from "vitest";
import { LeaseLostError, PermanentError, TransientError } from "../errors.js";
import { HANDLED, GIVE_BACK, failed, type Outcome } from "../runtime/outcome.js";
import { job } from "../../test/support/stage-jobs.js";
import { retryStage, type RetryStageOptions } from "./retry.js";

const RETRY = { maxAttempts: 3, delaysMs: [5], baseMs: 1, maxMs: 1 };

function stage(results: Outcome[], overrides: Partial<RetryStageOptions> = {}) {
  const counts = { retried: 0 };
  const seen: number[] = [];
  const run = retryStage({ retry: RETRY, random: () => 0.5, brokerRetry: false, closing: new AbortController().signal, counts, ...overrides })(
    (j) => {
      seen.push(j.attempt);
      return Promise.resolve(results.shift() ?? HANDLED);
    },
  );
  return { run, counts, seen };
}

describe("retry stage", () => {
  it("retry - through the broker: a retryable failure becomes a retry outcome with the policy's delay", async () => {
    const { run, counts } = stage([failed(new TransientError("x"))], { brokerRetry: true });
    expect(await run(job())).toMatchObject({ kind: "retry", delayMs: 5 });
    expect(counts.retried).toBe(1);
  });

  it("retry - in-process: the attempt runs again, numbered, until it succeeds", async () => {
    const { run, seen, counts } = stage([failed(new TransientError("x")), failed(new TransientError("y"))]);
    const j = job();
    expect(await run(j)).toBe(HANDLED);
    expect(seen).toEqual([1, 2, 3]);
    expect(counts.retried).toBe(2);
    expect(j.firstFailureAt).toBeTypeOf("number");
  });

  it("retry - the budget spent, a permanent error, a lost lease: dead letter or abandon, no retry", async () => {
    const exhausted = stage([failed(new TransientError("x"))]);
    expect(await exhausted.run(job({ attempt: 3 }))).toMatchObject({ kind: "dead-letter", reason: "attempts-exhausted" });
    expect(await stage([failed(new PermanentError("p"))]).run(job())).toMatchObject({ kind: "dead-letter", reason: "permanent" });
    expect(await stage([failed(new LeaseLostError("l"))]).run(job())).toMatchObject({ kind: "lease-lost" });
  });

  it("retry - closing during an in-process wait, or a later attempt that never started: left unsettled, the failure counted", async () => {
    const closing = new AbortController();
    closing.abort();
    expect(await stage([failed(new TransientError("x"))], { closing: closing.signal }).run(job())).toMatchObject({ kind: "leave" });
    expect(await stage([failed(new TransientError("x")), GIVE_BACK]).run(job())).toMatchObject({ kind: "leave" });
    // A first attempt that never started goes back uncounted.
    expect(await stage([GIVE_BACK]).run(job())).toBe(GIVE_BACK);
  });

  it("retry - observe sees every attempt's outcome before the policy, in-process retries included (the breaker's place)", async () => {
    const observed: string[] = [];
    const observe = (outcome: Outcome): Outcome => {
      observed.push(outcome.kind);
      return outcome;
    };
    const { run } = stage([failed(new TransientError("x")), failed(new TransientError("y"))], { observe });
    expect(await run(job())).toBe(HANDLED);
    expect(observed).toEqual(["failed", "failed", "handled"]);
  });
});

import { describe, expect, it } from "vitest";
import { HANDLED, GIVE_BACK, type Outcome } from "../runtime/outcome.js";
import { job } from "../../test/support/stage-jobs.js";
import { telemetryStage } from "./telemetry.js";

describe("telemetry stage", () => {
  it("telemetry - the outcome passes through; an ack still committing keeps its settled outcome for the consumer", async () => {
    const stage = telemetryStage("memory", "g");
    expect(await stage(() => Promise.resolve(GIVE_BACK))(job())).toBe(GIVE_BACK);
    const j = job();
    const settled: Outcome = { kind: "settle-failed", error: new Error("x"), intended: "handled" };
    const outcome = await stage((inner) => {
      inner.settling = Promise.resolve(settled);
      return Promise.resolve(HANDLED);
    })(j);
    expect(outcome).toBe(HANDLED);
    expect(await j.settling).toBe(settled);
  });
});

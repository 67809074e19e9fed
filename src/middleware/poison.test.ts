import { describe, expect, it } from "vitest";
import { ContractRegistry } from "../contract/registry.js";
import { HANDLED } from "../runtime/outcome.js";
import { job } from "../../test/support/stage-jobs.js";
import { poisonStage } from "./poison.js";

describe("poison stage", () => {
  it("poison - a message no contract reads is dead-lettered as poison; the handler never runs", async () => {
    let ran = false;
    const outcome = await poisonStage(new ContractRegistry())(() => ((ran = true), Promise.resolve(HANDLED)))(job());
    expect(outcome).toMatchObject({ kind: "dead-letter", reason: "poison", error: { code: "MISSIVE_UNKNOWN_TYPE" } });
    expect(ran).toBe(false);
  });
});

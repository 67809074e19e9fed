import type { StandardSchemaV1 } from "@standard-schema/spec";
import { describe, expect, it } from "vitest";
import { defineMessage } from "../contract/define-message.js";
import { ContractRegistry } from "../contract/registry.js";
import { HANDLED, type Job } from "../runtime/outcome.js";
import { job } from "../../test/support/stage-jobs.js";
import { poisonStage } from "./poison.js";

/** A Standard Schema for type `t` whose validate is `validate`. */
function registryOf(validate: (value: unknown) => StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>): ContractRegistry {
  const registry = new ContractRegistry();
  registry.add(defineMessage({ type: "t", schema: { "~standard": { version: 1, vendor: "test", validate } } as StandardSchemaV1<unknown, unknown> }));
  return registry;
}

const seen = (into: unknown[]) => (j: Job) => (into.push(j.data), Promise.resolve(HANDLED));

describe("poison stage", () => {
  it("poison - a message no contract reads is dead-lettered as poison; the handler never runs", async () => {
    let ran = false;
    const outcome = await poisonStage(new ContractRegistry())(() => ((ran = true), Promise.resolve(HANDLED)))(job());
    expect(outcome).toMatchObject({ kind: "dead-letter", reason: "poison", error: { code: "MISSIVE_UNKNOWN_TYPE" } });
    expect(ran).toBe(false);
  });

  it("poison - the schema's output reaches the handler, from a synchronous and an asynchronous schema alike", async () => {
    const data: unknown[] = [];
    expect(await poisonStage(registryOf(() => ({ value: "sync out" })))(seen(data))(job())).toBe(HANDLED);
    expect(await poisonStage(registryOf(() => Promise.resolve({ value: "async out" })))(seen(data))(job())).toBe(HANDLED);
    expect(data).toEqual(["sync out", "async out"]);
  });

  it("poison - issues, a throwing schema and a rejecting one are schema errors (dead-lettered, the handler never runs)", async () => {
    const schemas = [
      () => ({ issues: [{ message: "bad" }] }),
      () => Promise.resolve({ issues: [{ message: "bad" }] }),
      () => {
        throw new RangeError("deep");
      },
      () => Promise.reject(new RangeError("deep")),
    ];
    for (const validate of schemas) {
      const data: unknown[] = [];
      const outcome = await poisonStage(registryOf(validate))(seen(data))(job());
      expect(outcome).toMatchObject({ kind: "dead-letter", reason: "poison", error: { code: "MISSIVE_SCHEMA" } });
      expect(data).toEqual([]);
    }
  });

  it("poison - what the next stage throws rejects the stage's promise, as from a then() callback", async () => {
    const boom = new Error("next threw");
    const stage = poisonStage(registryOf(() => ({ value: 1 })))(() => {
      throw boom;
    });
    let returned: Promise<unknown> | undefined;
    expect(() => (returned = stage(job()))).not.toThrow();
    await expect(returned).rejects.toBe(boom);
  });
});

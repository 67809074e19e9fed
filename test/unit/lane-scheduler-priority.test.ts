import { setImmediate as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { LaneScheduler } from "../support/lane-tasks.js";

/** Tasks that end when the test says, recording the order they started in. */
function harness(concurrency: number) {
  const scheduler = new LaneScheduler(concurrency);
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const submit = (name: string, key: string | undefined, priority?: number): void => {
    scheduler.submit(key, () => new Promise<void>((resolve) => {
      started.push(name);
      finishers.set(name, resolve);
    }), priority);
  };
  const finish = async (name: string): Promise<void> => {
    finishers.get(name)!();
    await tick();
  };
  return { scheduler, started, submit, finish };
}

describe("lane scheduler - priority fill-in", () => {
  it("lanes - among ready tasks the highest priority starts first, submission order within one", async () => {
    const h = harness(1);
    h.submit("first", undefined);
    for (let i = 0; i < 5; i++) h.submit(`low${i}`, undefined);
    h.submit("mid", undefined, 4);
    h.submit("high", undefined, 9);
    h.submit("mid2", undefined, 4);
    for (const name of ["first", "high", "mid", "mid2", "low0", "low1"]) await h.finish(name);
    expect(h.started.slice(0, 6)).toEqual(["first", "high", "mid", "mid2", "low0", "low1"]);
  });

  it("lanes - priority never reorders one key: a high task waits behind its key's earlier ones", async () => {
    const h = harness(1);
    h.submit("a1", "a");
    h.submit("a2-low", "a", 0);
    h.submit("a3-high", "a", 9);
    h.submit("b-mid", "b", 5);
    for (const name of ["a1", "b-mid", "a2-low", "a3-high"]) await h.finish(name);
    expect(h.started).toEqual(["a1", "b-mid", "a2-low", "a3-high"]);
    await h.scheduler.idle();
  });

  it("lanes - without priorities, first in first out as before", async () => {
    const h = harness(2);
    for (let i = 0; i < 6; i++) h.submit(`t${i}`, undefined);
    for (let i = 0; i < 6; i++) await h.finish(`t${i}`);
    expect(h.started).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
    expect(h.scheduler.pending).toBe(0);
  });
});

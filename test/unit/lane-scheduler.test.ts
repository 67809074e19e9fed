import { setImmediate as tick } from "node:timers/promises";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LaneScheduler } from "../support/lane-tasks.js";

/** Lets every pending promise continuation run (real macrotask boundary; no timing involved). */
async function settle(): Promise<void> {
  await tick();
}

interface Job {
  readonly id: number;
  readonly key: string | undefined;
  finish(): void;
}

/**
 * Tasks that run until the test finishes them: the test decides the order in which tasks end,
 * which is what random task durations amount to, without any clock.
 */
function harness(concurrency: number) {
  const scheduler = new LaneScheduler(concurrency);
  const running: Job[] = [];
  const started: Job[] = [];
  const finished: number[] = [];
  let nextId = 0;
  let maxRunning = 0;
  const submit = (key: string | undefined): number => {
    const id = nextId++;
    scheduler.submit(key, () =>
      new Promise<void>((resolve) => {
        const job: Job = {
          id,
          key,
          finish: () => {
            running.splice(running.indexOf(job), 1);
            finished.push(id);
            resolve();
          },
        };
        running.push(job);
        started.push(job);
        maxRunning = Math.max(maxRunning, running.length);
      }),
    );
    return id;
  };
  return { scheduler, running, started, finished, submit, maxRunning: () => maxRunning };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("lane-scheduler", () => {
  it("lane-scheduler - different keys run in parallel up to concurrency", () => {
    const h = harness(4);
    for (const k of ["a", "b", "c", "d", "e", "f"]) h.submit(k);
    expect(h.running.map((j) => j.key)).toEqual(["a", "b", "c", "d"]);
    expect(h.scheduler.active).toBe(4);
    expect(h.scheduler.pending).toBe(6);
  });

  it("lane-scheduler - unkeyed tasks run in parallel", () => {
    const h = harness(3);
    for (let i = 0; i < 5; i++) h.submit(undefined);
    expect(h.running).toHaveLength(3);
  });

  it("lane-scheduler - one key runs one task at a time, in submission order", async () => {
    const h = harness(8);
    for (let i = 0; i < 5; i++) h.submit("k");
    expect(h.running.map((j) => j.id)).toEqual([0]);
    for (let i = 0; i < 5; i++) {
      expect(h.running.map((j) => j.id)).toEqual([i]);
      h.running[0]!.finish();
      await settle();
    }
    expect(h.finished).toEqual([0, 1, 2, 3, 4]);
  });

  it("lane-scheduler - a slow key does not stall the others", async () => {
    const h = harness(2);
    h.submit("slow");
    h.submit("slow");
    for (let i = 0; i < 10; i++) h.submit("fast");
    h.submit(undefined);
    // "slow" holds one slot; everything else flows through the other.
    for (let i = 0; i < 11; i++) {
      const other = h.running.find((j) => j.key !== "slow");
      expect(other, `step ${i}`).toBeDefined();
      other!.finish();
      await settle();
    }
    expect(h.running.map((j) => j.id)).toEqual([0]);
    expect(h.scheduler.pending).toBe(2);
  });

  it("lane-scheduler - a throwing task does not wedge its lane or leak a slot", async () => {
    const scheduler = new LaneScheduler(1);
    const ran: string[] = [];
    scheduler.submit("k", async () => {
      ran.push("reject");
      throw new Error("async");
    });
    scheduler.submit("k", () => {
      ran.push("throw");
      throw new Error("sync");
    });
    scheduler.submit("k", async () => {
      ran.push("ok");
    });
    scheduler.submit(undefined, async () => {
      ran.push("unkeyed");
    });
    await scheduler.idle();
    expect(ran.filter((r) => r !== "unkeyed")).toEqual(["reject", "throw", "ok"]);
    expect(ran).toContain("unkeyed");
    expect(scheduler.active).toBe(0);
    expect(scheduler.pending).toBe(0);
  });

  it("lane-scheduler - idle() resolves at once when nothing is pending", async () => {
    const scheduler = new LaneScheduler(2);
    await expect(scheduler.idle()).resolves.toBeUndefined();
  });

  it("lane-scheduler - idle() resolves only once every task, queued lanes included, has finished", async () => {
    const h = harness(1);
    h.submit("a");
    h.submit("a");
    h.submit("b");
    let idle1 = false;
    let idle2 = false;
    void h.scheduler.idle().then(() => (idle1 = true));
    void h.scheduler.idle().then(() => (idle2 = true));
    for (let i = 0; i < 3; i++) {
      await settle();
      expect(idle1 || idle2).toBe(false);
      h.running[0]!.finish();
    }
    await settle();
    expect(idle1 && idle2).toBe(true);
    // A lane's next task queues behind work other lanes already had ready: b ran between a's two tasks.
    expect(h.finished).toEqual([0, 2, 1]);
    expect(h.scheduler.pending).toBe(0);
  });

  it("lane-scheduler - tasks submitted from inside a task keep their lane order", async () => {
    const scheduler = new LaneScheduler(4);
    const order: string[] = [];
    scheduler.submit("k", async () => {
      order.push("first");
      scheduler.submit("k", async () => {
        order.push("third");
      });
      await settle();
      order.push("second");
    });
    await scheduler.idle();
    expect(order).toEqual(["first", "second", "third"]);
  });

  it("lane-scheduler - peakActive records the most tasks at once", async () => {
    const h = harness(3);
    for (let i = 0; i < 10; i++) h.submit(String(i));
    expect(h.scheduler.peakActive).toBe(3);
    while (h.running.length > 0) {
      h.running[0]!.finish();
      await settle();
    }
    expect(h.scheduler.peakActive).toBe(3);
    expect(h.scheduler.active).toBe(0);
  });

  it("lane-scheduler - property: bounded, per-key sequential in submission order, and never idle while work can run", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        // Each step submits a task (key index, or undefined) or finishes a running one (index into running).
        fc.array(fc.oneof(fc.record({ submit: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) }), fc.record({ finish: fc.nat() })), { maxLength: 120 }),
        async (concurrency, steps) => {
          const h = harness(concurrency);
          const submitted: Array<{ id: number; key: string | undefined }> = [];
          const check = (): void => {
            expect(h.running.length).toBeLessThanOrEqual(concurrency);
            const runningKeys = h.running.filter((j) => j.key !== undefined).map((j) => j.key);
            expect(new Set(runningKeys).size).toBe(runningKeys.length);
            // Work-conserving: as many run as could (one per key with work, every unkeyed task), up to concurrency.
            const unfinished = submitted.filter((s) => !h.finished.includes(s.id));
            const runnable = unfinished.filter((s) => s.key === undefined).length + new Set(unfinished.filter((s) => s.key !== undefined).map((s) => s.key)).size;
            expect(h.running.length).toBe(Math.min(concurrency, runnable));
            expect(h.scheduler.pending).toBe(unfinished.length);
          };
          for (const step of steps) {
            if ("submit" in step) {
              const key = step.submit === undefined ? undefined : `k${step.submit}`;
              submitted.push({ id: h.submit(key), key });
            } else if (h.running.length > 0) {
              h.running[step.finish % h.running.length]!.finish();
            }
            await settle();
            check();
          }
          // Drain in an order the steps did not decide: last started first.
          while (h.running.length > 0) {
            h.running[h.running.length - 1]!.finish();
            await settle();
            check();
          }
          await h.scheduler.idle();
          expect(h.finished.length).toBe(submitted.length);
          // Per key, start order = finish order = submission order.
          for (const key of new Set(submitted.map((s) => s.key))) {
            if (key === undefined) continue;
            const ids = submitted.filter((s) => s.key === key).map((s) => s.id);
            expect(h.started.filter((j) => j.key === key).map((j) => j.id)).toEqual(ids);
            expect(h.finished.filter((id) => ids.includes(id))).toEqual(ids);
          }
          expect(h.maxRunning()).toBeLessThanOrEqual(concurrency);
          expect(h.scheduler.peakActive).toBe(h.maxRunning());
        },
      ),
      { numRuns: 300 },
    );
  });

  it("lane-scheduler - with random task durations on a fake clock, keys stay in order and concurrency holds", async () => {
    vi.useFakeTimers();
    const scheduler = new LaneScheduler(5);
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const log: Array<{ key: string; seq: number; at: "start" | "end" }> = [];
    const perKeySubmitted = new Map<string, number>();
    let running = 0;
    let peak = 0;
    for (let i = 0; i < 400; i++) {
      const key = `k${Math.floor(rand() * 12)}`;
      const seq = perKeySubmitted.get(key) ?? 0;
      perKeySubmitted.set(key, seq + 1);
      const duration = Math.floor(rand() * 50);
      scheduler.submit(key, async () => {
        running++;
        peak = Math.max(peak, running);
        log.push({ key, seq, at: "start" });
        await new Promise((r) => setTimeout(r, duration));
        log.push({ key, seq, at: "end" });
        running--;
      });
    }
    const idle = scheduler.idle();
    await vi.runAllTimersAsync();
    await idle;
    expect(peak).toBe(5);
    for (const [key, count] of perKeySubmitted) {
      const events = log.filter((e) => e.key === key);
      // start 0, end 0, start 1, end 1, …: strictly one at a time, in submission order.
      expect(events).toEqual(Array.from({ length: count }, (_, seq) => [{ key, seq, at: "start" }, { key, seq, at: "end" }]).flat());
    }
  });
});

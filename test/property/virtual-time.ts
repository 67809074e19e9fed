/**
 * Run an async scenario on vitest's fake clock, firing one timer at a time
 * until the scenario settles.
 *
 * Why fake time: the runtime and the memory broker wait only on timers
 * (setTimeout, setImmediate) and microtasks, and every random choice comes
 * from a seed, so on a fake clock one schedule always runs the same way: a
 * failing seed replays the same interleaving, not just the same inputs.
 * It is also fast: a 30 ms lease or a 1 s breaker cool-down costs no real
 * time, only the timers fired on the way.
 */
import { vi } from "vitest";

/** Captured before any test fakes it: the one real macrotask hop we need. */
const realSetImmediate = globalThis.setImmediate;

export const VIRTUAL_EPOCH = Date.UTC(2030, 0, 1);

export interface VirtualRunLimits {
  /** Fail when the scenario has not settled after this much fake time. */
  readonly virtualMs: number;
  /** Fail when the scenario has not settled after this much real time (a timer storm). */
  readonly realMs: number;
}

export class VirtualTimeExceeded extends Error {
  override readonly name = "VirtualTimeExceeded";
}

/**
 * `scenario` runs with setTimeout, setImmediate, setInterval and Date faked
 * (queueMicrotask and process.nextTick stay real). Resolves or rejects as
 * the scenario does; rejects with VirtualTimeExceeded when a limit passes
 * or when nothing is scheduled any more and the scenario still waits.
 */
export async function onVirtualTime<T>(scenario: () => Promise<T>, limits: VirtualRunLimits): Promise<T> {
  vi.useFakeTimers({
    now: VIRTUAL_EPOCH,
    toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "Date"],
  });
  const realStart = performance.now();
  try {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    scenario().then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    while (outcome === undefined) {
      const elapsed = Date.now() - VIRTUAL_EPOCH;
      if (elapsed > limits.virtualMs) throw new VirtualTimeExceeded(`scenario still running after ${elapsed} ms of fake time`);
      if (performance.now() - realStart > limits.realMs) throw new VirtualTimeExceeded(`scenario still running after ${limits.realMs} ms of real time (${elapsed} ms fake)`);
      if (vi.getTimerCount() === 0) {
        // Let pending microtasks run once before calling it a deadlock.
        await new Promise<void>((resolve) => realSetImmediate(resolve));
        if (outcome === undefined && vi.getTimerCount() === 0) throw new VirtualTimeExceeded(`deadlock: nothing scheduled after ${elapsed} ms of fake time`);
        continue;
      }
      await vi.advanceTimersToNextTimerAsync();
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  } finally {
    vi.clearAllTimers();
    vi.useRealTimers();
  }
}

/** Per-test setup shared by the conformance suites: a fresh target, and every bus it made closed after the test. */
import { afterEach, beforeEach } from "vitest";
import type { Bus, BusOptions } from "../../src/index.js";
import type { ConformanceTarget, TargetHandle } from "./target.js";

export interface TargetFixture {
  /** The current test's handle. */
  readonly h: TargetHandle;
  /** A new bus on the target, closed after the test. */
  bus(options?: Partial<Omit<BusOptions, "transport">>): Promise<Bus>;
}

/** Registers beforeEach/afterEach in the calling describe block. */
export function useTarget(target: ConformanceTarget, service: string): TargetFixture {
  let handle: TargetHandle | undefined;
  const buses: Bus[] = [];
  beforeEach(async () => {
    handle = await target.setup();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 1000 }).catch(() => undefined)));
    await handle?.teardown();
    handle = undefined;
  });
  const h = (): TargetHandle => {
    if (!handle) throw new Error("the conformance target is set up per test");
    return handle;
  };
  return {
    get h() {
      return h();
    },
    async bus(options) {
      const b = await h().bus({ service, ...options });
      buses.push(b);
      return b;
    },
  };
}

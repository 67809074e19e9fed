/** Per-test setup for the store suites: a fresh handle (tables of the test's own), relays stopped and tables dropped after. */
import { afterEach, beforeEach } from "vitest";
import type { OutboxRelay } from "../../../src/stores/postgres/index.js";
import type { StoreHandle, StoreTarget } from "./store-target.js";

export interface StoreFixture {
  readonly h: StoreHandle;
  /** A relay stopped after the test. */
  relay(...args: Parameters<StoreHandle["relay"]>): OutboxRelay;
  /** Something else to close after the test (a bus). */
  defer(fn: () => Promise<unknown>): void;
}

export function useStore(target: StoreTarget): StoreFixture {
  let handle: StoreHandle | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    handle = await target.setup();
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    await handle?.teardown();
    handle = undefined;
  });
  const h = (): StoreHandle => {
    if (!handle) throw new Error("the store target is set up per test");
    return handle;
  };
  return {
    get h() {
      return h();
    },
    relay(...args) {
      const relay = h().relay(...args);
      cleanups.push(() => relay.stop());
      return relay;
    },
    defer: (fn) => void cleanups.push(fn),
  };
}

/**
 * Per-test state of the seam suite: unique names, the transports and
 * subscriptions a test opened (closed after it, whatever happened), and the
 * check that each transport still says what its target's features declare.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, expect } from "vitest";
import type { SubscribeOptions, Subscription, Transport } from "../transport/transport.js";
import { featureMismatches, type SeamFeatures, type SeamTarget } from "./seam-target.js";

/** Lease the suite asks for unless a test needs another: long enough that a loaded machine renews in time. */
export const SUITE_LEASE_MS = 5_000;

export interface SeamContext<T extends Transport = Transport> {
  readonly target: SeamTarget<T>;
  readonly features: SeamFeatures;
  /** `prefix` plus a random suffix: unique across tests, runs and parallel workers on one broker. */
  name(prefix: string): string;
  /** A new connected transport, closed after the test. */
  open(): Promise<T>;
  /** Subscribe with the suite's defaults (prefetch 10, ordered, SUITE_LEASE_MS); closed after the test. */
  subscribe(transport: T, group: string, topics: readonly string[], extra?: Partial<SubscribeOptions>): Promise<Subscription>;
}

export function useSeamContext<T extends Transport>(target: SeamTarget<T>): SeamContext<T> {
  const transports: T[] = [];
  const subscriptions: Subscription[] = [];
  const run = randomBytes(4).toString("hex");
  let counter = 0;

  if (target.beforeEach) beforeEach(() => target.beforeEach!());
  afterEach(async () => {
    // Close everything even when one close fails; then report the first failure.
    const results = await Promise.allSettled([...subscriptions.splice(0).map((s) => s.close())]);
    results.push(...(await Promise.allSettled(transports.splice(0).map((t) => t.close()))));
    if (target.afterEach) results.push(...(await Promise.allSettled([target.afterEach()])));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  });

  return {
    target,
    features: target.features,
    name: (prefix) => `${prefix}-${run}-${(counter++).toString(36)}`,
    async open() {
      const transport = await target.open();
      transports.push(transport);
      expect(featureMismatches(target.features, transport), `${target.name}: declared features vs the transport`).toEqual([]);
      await transport.connect();
      return transport;
    },
    async subscribe(transport, group, topics, extra = {}) {
      const subscription = await transport.subscribe({ group, topics, prefetch: 10, ordered: true, leaseMs: SUITE_LEASE_MS, ...extra });
      subscriptions.push(subscription);
      return subscription;
    },
  };
}

/**
 * Network faults between missive and a shared broker, through a TCP proxy of
 * the test's own (the broker is never touched): connection resets while a
 * keyed stream is published, then resets and a 3 s blackhole while an
 * ordered consumer with the inbox works through it. The scenario the NATS,
 * Redis and PostgreSQL network tests share; each opens its buses through the
 * proxy.
 */
import { join } from "node:path";
import { expect } from "vitest";
import type { Bus } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { openEffects } from "../fixtures/effects-db.js";
import { createChecker, type CheckResult } from "../support/checker.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitFor } from "../support/wait.js";
import { consumeOrdered, GROUP, publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

export type OpenThrough = (port: number, inbox?: ReturnType<typeof openEffects>["inbox"]) => Promise<Bus>;

export interface NetworkRun {
  readonly r: CheckResult;
  readonly rejected: number;
  readonly connections: number;
  readonly orderViolations: number;
  /** One line for the test's log. */
  readonly line: string;
}

/** Run the scenario against the broker on `upstreamPort`; `dir` holds the effects; `defer` registers cleanups. */
export async function networkFaults(upstreamPort: number, dir: string, count: number, open: OpenThrough, defer: (fn: () => Promise<void>) => void): Promise<NetworkRun> {
  const path = join(dir, "effects.db");
  const effects = openEffects(path);
  defer(async () => effects.close());
  const proxy = await startTcpProxy({ upstreamPort });
  defer(() => proxy.stop());
  const checker = createChecker();
  const faults: string[] = [];

  const producer = await open(proxy.port);
  await producer.declare(OrderPlaced, GROUP);
  const published = await publishKeyed(producer, checker, {
    count,
    keys: 40,
    onConfirmed: (n) => {
      if (n === 500 || n === 1200) {
        faults.push(`publish-reset@${n}`);
        proxy.reset();
      }
    },
  });

  const consumer = await open(proxy.port, effects.inbox);
  const committed = await consumeOrdered(consumer, effects, checker, { concurrency: 8, workMs: 5 });
  const at = async (n: number, fault: string, act: () => Promise<void> | void): Promise<void> => {
    await waitFor(() => committed() >= n, 60_000, `${n} effects before the ${fault}`);
    faults.push(`${fault}@${committed()}`);
    await act();
  };
  await at(300, "reset", () => proxy.reset());
  await at(700, "blackhole", async () => {
    await proxy.blackhole();
    await sleep(3000);
    await proxy.pass();
    // A reconnect attempted during the blackhole is stranded by the proxy; a reset frees it (a healed network would).
    proxy.reset();
  });
  await at(1300, "reset", () => proxy.reset());
  const drained = await settled(path, published.confirmedIds, 90_000);
  await sleep(1_000);
  const back = readBack(path, checker);
  return {
    r: checker.check(),
    rejected: published.rejected,
    connections: proxy.stats.accepted,
    orderViolations: back.orderViolations,
    line: `faults=${faults.join(",")} connections=${proxy.stats.accepted} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()}`,
  };
}

/** What every network test asserts: the proxy cut connections, and nothing was rejected, lost, doubled or reordered. */
export function expectCleanNetworkRun(run: NetworkRun, count: number): void {
  expect(run.rejected).toBe(0);
  expect(run.connections).toBeGreaterThanOrEqual(5);
  expect(run.r.confirmed).toBe(count);
  expect(run.r.lost).toEqual([]);
  expect(run.r.doubleEffects).toEqual([]);
  expect(run.r.missingEffects).toEqual([]);
  expect(run.orderViolations).toBe(0);
}

/**
 * A consumer process SIGKILLed mid-handler, twice (before its effect, and
 * after its effect committed but before the ack), on the shared redis-server
 * under a prefix of the test's own; a survivor drains the rest. The killed
 * process's entries stay pending until their lease (2 s here) runs out,
 * then the survivor claims them (XAUTOCLAIM). Counted: lost 0, double
 * effects 0 (the inbox). Order violations are printed here; key order
 * across processes is asserted by redis-key-order-processes.test.ts.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { killFixtures } from "../support/fixture-process.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { consumerSigkill } from "./url-consumer-sigkill-support.js";

const COUNT = 1500;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  killFixtures();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("faults - redis consumer sigkill", () => {
  it("faults - redis: an ordered consumer SIGKILLed twice mid-handler and restarted: lost 0, double effects 0", async () => {
    const started = Date.now();
    const prefix = `sigkill-redis-${randomUUID().slice(0, 8)}:`;
    const dir = mkdtempSync(join(tmpdir(), "missive-redis-sigkill-"));
    cleanups.push(async () => {
      await removeRedisPrefix(REDIS_URL, prefix);
      rmSync(dir, { recursive: true, force: true });
    });
    const bus = await missive({ service: "redis-sigkill", transport: redisTransport({ url: REDIS_URL, prefix }) });
    cleanups.push(() => bus.close());
    const run = await consumerSigkill(bus, `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`, dir, COUNT, 2_000);
    console.log(`[fault] redis consumer sigkill: kills=${run.kills} drained=${run.drained} order_violations=${run.orderViolations} ${run.summary} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(run.rejected).toBe(0);
    expect(run.r.confirmed).toBe(COUNT);
    expect(run.r.lost).toEqual([]);
    expect(run.r.doubleEffects).toEqual([]);
    expect(run.r.missingEffects).toEqual([]);
    expect(run.r.unexpected).toEqual([]);
  }, 180_000);
});

/**
 * Network faults between missive and the shared redis-server, through a TCP
 * proxy of the test's own (the server is never touched; keys under a prefix
 * of the test's own): connection resets while a keyed stream is published,
 * then resets and a 3 s blackhole while an ordered consumer with the inbox
 * works through it (network-fault-support.ts). Commands on the shared
 * connection time out after 2 s (commandTimeoutMs); a blocking read that
 * outlives its BLOCK by that much has its connection dropped and made again;
 * a publish without its reply is retried under its id (the inbox removes a
 * double). Counted: lost confirmed 0, double effects 0, per-key order
 * violations 0.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "vitest";
import { missive } from "../../src/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { expectCleanNetworkRun, networkFaults } from "./network-fault-support.js";

const COUNT = 2000;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("faults - redis network", () => {
  it("faults - redis: resets while publishing, resets and a 3 s blackhole while consuming ordered: lost 0, double effects 0, order violations 0", async () => {
    const started = Date.now();
    const prefix = `net-redis-${randomUUID().slice(0, 8)}:`;
    const dir = mkdtempSync(join(tmpdir(), "missive-redis-net-"));
    cleanups.push(async () => {
      await removeRedisPrefix(REDIS_URL, prefix);
      rmSync(dir, { recursive: true, force: true });
    });
    const run = await networkFaults(6379, dir, COUNT, async (port, inbox) => {
      const transport = redisTransport({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeoutMs: 2_000 });
      const bus = await missive({ service: "redis-network", transport, ...(inbox ? { inbox } : {}), publisher: { timeout: "60s" } });
      cleanups.push(async () => {
        await bus.close({ deadline: "2s" }).catch(() => transport.kill());
      });
      return bus;
    }, (fn) => cleanups.push(fn));
    console.log(`[fault] redis network: ${run.line} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expectCleanNetworkRun(run, COUNT);
  }, 180_000);
});

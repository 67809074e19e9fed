/**
 * A consumer process SIGKILLed mid-handler, twice (before its effect, and
 * after its effect committed but before the ack), on the shared nats-server
 * under a prefix of the test's own; a survivor drains the rest. The killed
 * process's messages come back after the ack wait (the lease, 2 s here).
 * Counted: lost 0, double effects 0 (the inbox). Per-key order across
 * processes is not promised on NATS yet (ordering `none`, docs/contract.md
 * §4): the survivor takes later messages of a key while the killed
 * holder's wait out their ack wait, so the violations are printed, not
 * asserted (24 of 1,500 in the first run).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { killFixtures } from "../support/fixture-process.js";
import { removeNatsPrefix } from "../support/nats.js";
import { consumerSigkill } from "./url-consumer-sigkill-support.js";

const SERVER = "127.0.0.1:4222";
const COUNT = 1500;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  killFixtures();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("faults - nats consumer sigkill", () => {
  it("faults - nats: an ordered consumer SIGKILLed twice mid-handler and restarted: lost 0, double effects 0", async () => {
    const started = Date.now();
    const prefix = `sigkill-nats-${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), "missive-nats-sigkill-"));
    cleanups.push(async () => {
      await removeNatsPrefix(SERVER, prefix);
      rmSync(dir, { recursive: true, force: true });
    });
    const bus = await missive({ service: "nats-sigkill", transport: natsTransport({ servers: [SERVER], prefix }) });
    cleanups.push(() => bus.close());
    const run = await consumerSigkill(bus, `nats://${SERVER}?prefix=${prefix}`, dir, COUNT, 2_000);
    console.log(`[fault] nats consumer sigkill: kills=${run.kills} drained=${run.drained} order_violations=${run.orderViolations} ${run.summary} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(run.rejected).toBe(0);
    expect(run.r.confirmed).toBe(COUNT);
    expect(run.r.lost).toEqual([]);
    expect(run.r.doubleEffects).toEqual([]);
    expect(run.r.missingEffects).toEqual([]);
    expect(run.r.unexpected).toEqual([]);
  }, 180_000);
});

/**
 * A consumer process SIGKILLed mid-handler, twice (before its effect, and
 * after its effect committed but before the ack), on the shared nats-server
 * under a prefix of the test's own; a survivor drains the rest. The killed
 * process's messages come back after the ack wait (the lease, 2 s here).
 * Counted: lost 0, double effects 0 (the inbox), and per-key order
 * violations 0 (ordering `key`, ADR 012): the next process takes the
 * partitions over once the dead one's lock entries expire, waits out the
 * ack wait of what it held, and hands out nothing of a partition until
 * every delivery the server has out of it is in its own hands, a key's
 * lowest sequence first, so the dead holder's messages go before the
 * later ones of their keys.
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
  it("faults - nats: an ordered consumer SIGKILLed twice mid-handler and restarted: lost 0, double effects 0, order violations 0", async () => {
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
    expect(run.orderViolations).toBe(0);
  }, 180_000);
});

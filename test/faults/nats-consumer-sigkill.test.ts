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
import { OrderPlaced } from "../conformance/contracts.js";
import type { NatsFaultConsumerArgs, NatsFaultConsumerMessage } from "../fixtures/nats-fault-consumer.js";
import { createChecker } from "../support/checker.js";
import { forkFixture, killFixtures, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { removeNatsPrefix } from "../support/nats.js";
import { GROUP, publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

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
    const checker = createChecker();
    const bus = await missive({ service: "nats-sigkill", transport: natsTransport({ servers: [SERVER], prefix }) });
    cleanups.push(() => bus.close());
    await bus.declare(OrderPlaced, GROUP);
    const published = await publishKeyed(bus, checker, { count: COUNT, keys: 50 });
    expect(published.rejected).toBe(0);

    const journals: string[] = [];
    const startConsumer = async (name: string, options: Partial<NatsFaultConsumerArgs> = {}) => {
      const journal = join(dir, `${name}.journal`);
      journals.push(journal);
      const args: NatsFaultConsumerArgs = { servers: [SERVER], prefix, effects: join(dir, "effects.db"), group: GROUP, journal, concurrency: 8, leaseMs: 2_000, ...options };
      const child = forkFixture("nats-fault-consumer", [JSON.stringify(args)]);
      await nextMessage(child, (m: NatsFaultConsumerMessage) => "ready" in m, 30_000, `consumer ${name} ready`);
      return child;
    };
    let kills = 0;
    for (const [stallAfter, stallAt] of [[200, "before-effect"], [300, "after-effect"]] as const) {
      const victim = await startConsumer(`victim-${kills}`, { stallAfter, stallAt });
      await killOnMessage(victim, (m: NatsFaultConsumerMessage) => "stalled" in m, 60_000, `victim ${kills} stalled mid-handler`);
      kills++;
    }
    const survivor = await startConsumer("survivor");
    const drained = await settled(join(dir, "effects.db"), published.confirmedIds, 90_000);
    survivor.kill("SIGKILL");

    const back = readBack(join(dir, "effects.db"), checker, journals);
    const r = checker.check();
    console.log(`[fault] nats consumer sigkill: kills=${kills} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(r.confirmed).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
  }, 180_000);
});

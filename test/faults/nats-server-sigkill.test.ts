/**
 * The NATS server itself dies: on a nats-server of this file's own (its own
 * port and store directory; the shared one at 4222 is never touched), while
 * a producer publishes a keyed stream and an ordered consumer with the inbox
 * works through it, the server is SIGKILLed and started again on the same
 * store. Both sides reconnect by themselves; a publish whose PubAck was lost
 * is retried under its id and the duplicate window removes the double; pulls
 * lost with the connection are made again. Counted: lost confirmed 0, double
 * effects 0, per-key order violations 0. (A SIGKILL keeps what the server
 * wrote to the OS; a power loss inside the sync window is not tested here:
 * docs/transports/nats.md.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { openEffects } from "../fixtures/effects-db.js";
import { missingBinary, startBroker, type BrokerProcess } from "../support/broker-process.js";
import { createChecker } from "../support/checker.js";
import { sleep } from "../support/wait.js";
import { consumeOrdered, GROUP, publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";
import { shouldSkip } from "./harness/skip.js";

const COUNT = 2000;

describe("faults - nats own server: SIGKILL and restart mid-stream", () => {
  let broker: BrokerProcess | undefined;
  let skip = false;
  let dir: string | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    skip = shouldSkip(missingBinary("nats"), "nats faults");
    if (!skip) broker = await startBroker("nats");
    dir = mkdtempSync(join(tmpdir(), "missive-nats-fault-"));
  }, 60_000);
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openBus(url: string, inbox?: ReturnType<typeof openEffects>["inbox"]): Promise<Bus> {
    const transport: NatsTransport = natsTransport({ servers: [url], publishTimeoutMs: 2_000 });
    const bus = await missive({ service: "nats-fault", transport, ...(inbox ? { inbox } : {}), publisher: { timeout: "60s" } });
    closers.push(async () => {
      await bus.close({ deadline: "2s" }).catch(() => transport.kill());
    });
    return bus;
  }

  it("faults - nats: SIGKILL and restart of the server mid-stream loses no confirmed message, doubles no effect, breaks no key's order", async ({ skip: skipTest }) => {
    if (skip || !broker) return skipTest();
    const started = Date.now();
    const url = `127.0.0.1:${broker.port}`;
    const checker = createChecker();
    const path = join(dir!, "effects.db");
    const effects = openEffects(path);
    closers.push(async () => effects.close());

    const producer = await openBus(url);
    await producer.declare(OrderPlaced, GROUP);
    const consumer = await openBus(url, effects.inbox);
    await consumeOrdered(consumer, effects, checker, { workMs: 2 });

    let killedAt = 0;
    let restartedAt = 0;
    let firstAfterRestart = 0;
    const stream = publishKeyed(producer, checker, {
      count: COUNT,
      keys: 20,
      onConfirmed: (n) => {
        if (n === Math.floor(COUNT / 3) && killedAt === 0) {
          killedAt = Date.now();
          void broker!.kill().then(() => sleep(500)).then(() => broker!.restart()).then(() => (restartedAt = Date.now()));
        }
        if (restartedAt !== 0 && firstAfterRestart === 0) firstAfterRestart = Date.now();
      },
    });
    const published = await stream;
    const drained = await settled(path, published.confirmedIds, 90_000);
    await sleep(1_000); // a late redelivery would show as a double effect
    const back = readBack(path, checker);
    const r = checker.check();
    console.log(`[fault] nats server SIGKILL+restart: confirmed=${published.confirmed} rejected=${published.rejected} ms_until_restarted=${restartedAt - killedAt} ms_until_publishing_again=${firstAfterRestart - restartedAt} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(killedAt).toBeGreaterThan(0);
    expect(restartedAt).toBeGreaterThan(0);
    expect(published.rejected).toBe(0);
    expect(r.confirmed).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 180_000);
});

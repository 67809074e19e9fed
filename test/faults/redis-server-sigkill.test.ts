/**
 * The Redis server itself dies: on a redis-server of this file's own (its
 * own port and directory; the shared one at 6379 is never touched), while a
 * producer publishes a keyed stream and an ordered consumer with the inbox
 * works through it, the server is SIGKILLed and started again on the same
 * directory. Both sides reconnect by themselves; a publish whose reply was
 * lost is retried under its id (the inbox removes the double); a blocking
 * read failed by the dropped link is made again.
 *
 * With `appendonly yes` + `appendfsync always`, an XADD reply means the
 * entry was fsynced: counted lost confirmed 0, double effects 0, per-key
 * order violations 0. Without persistence (the shared server's
 * configuration, which `missive doctor` warns about with exit 3) the same
 * kill loses confirmed messages: the second test shows it (lost > 0).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { redisTransport, type RedisTransport } from "../../src/transports/redis/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { openEffects } from "../fixtures/effects-db.js";
import { missingBinary, startBroker, type BrokerProcess } from "../support/broker-process.js";
import { createChecker } from "../support/checker.js";
import { sleep } from "../support/wait.js";
import { consumeOrdered, GROUP, publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";
import { shouldSkip } from "./harness/skip.js";

const COUNT = 2000;

describe("faults - redis own server: SIGKILL and restart mid-stream", () => {
  const brokers: BrokerProcess[] = [];
  let skip = false;
  let dir: string | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(() => {
    skip = shouldSkip(missingBinary("redis"), "redis faults");
    dir = mkdtempSync(join(tmpdir(), "missive-redis-fault-"));
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    for (const broker of brokers) await broker.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openBus(url: string, inbox?: ReturnType<typeof openEffects>["inbox"]): Promise<Bus> {
    const transport: RedisTransport = redisTransport({ url, commandTimeoutMs: 2_000 });
    const bus = await missive({ service: "redis-fault", transport, ...(inbox ? { inbox } : {}), publisher: { timeout: "60s" } });
    closers.push(async () => {
      await bus.close({ deadline: "2s" }).catch(() => transport.kill());
    });
    return bus;
  }

  /** Publish COUNT keyed messages to an ordered consumer with the inbox; SIGKILL and restart the server after a third were confirmed. */
  async function killMidStream(broker: BrokerProcess, name: string, workMs: number, drainMs: number) {
    const started = Date.now();
    const checker = createChecker();
    const path = join(dir!, `${name}.db`);
    const effects = openEffects(path);
    closers.push(async () => effects.close());

    const producer = await openBus(broker.url);
    await producer.declare(OrderPlaced, GROUP);
    const consumer = await openBus(broker.url, effects.inbox);
    await consumeOrdered(consumer, effects, checker, { workMs });

    let killedAt = 0;
    let restartedAt = 0;
    let firstAfterRestart = 0;
    const published = await publishKeyed(producer, checker, {
      count: COUNT,
      keys: 20,
      onConfirmed: (n) => {
        if (n === Math.floor(COUNT / 3) && killedAt === 0) {
          killedAt = Date.now();
          void broker.kill().then(() => sleep(500)).then(() => broker.restart()).then(() => (restartedAt = Date.now()));
        }
        if (restartedAt !== 0 && firstAfterRestart === 0) firstAfterRestart = Date.now();
      },
    });
    const drained = await settled(path, published.confirmedIds, drainMs);
    await sleep(1_000); // a late redelivery would show as a double effect
    const back = readBack(path, checker);
    const r = checker.check();
    console.log(`[fault] redis ${name} SIGKILL+restart: confirmed=${published.confirmed} rejected=${published.rejected} ms_until_restarted=${restartedAt - killedAt} ms_until_publishing_again=${firstAfterRestart - restartedAt} drained=${drained} lost=${r.lost.length} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(killedAt).toBeGreaterThan(0);
    expect(restartedAt).toBeGreaterThan(0);
    return { published, r, back };
  }

  it("faults - redis appendfsync always: SIGKILL and restart of the server mid-stream loses no confirmed message, doubles no effect, breaks no key's order", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const broker = await startBroker("redis", { appendOnly: true });
    brokers.push(broker);
    const { published, r, back } = await killMidStream(broker, "aof-always", 2, 90_000);
    expect(published.rejected).toBe(0);
    expect(r.confirmed).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 180_000);

  it("faults - redis without persistence: the same kill loses confirmed messages (what doctor's exit 3 warns of)", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const broker = await startBroker("redis", { appendOnly: false });
    brokers.push(broker);
    // A slower consumer, so a backlog of confirmed messages sits in the server when it dies.
    const { r } = await killMidStream(broker, "no-persistence", 40, 15_000);
    expect(r.lost.length).toBeGreaterThan(0);
    expect(r.doubleEffects).toEqual([]);
  }, 180_000);
});

/**
 * A 3-node nats-server cluster of the test's own (test/support/nats-cluster.ts),
 * missive's streams with 3 replicas. While a producer publishes a keyed
 * stream and an ordered consumer with the inbox works through it, the node
 * leading the topic's stream is SIGKILLed; the other two elect a new leader
 * and both sides go on through the remaining servers. Counted: lost
 * confirmed 0, double effects 0, per-key order violations 0; the time until
 * publishing resumed is printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { openEffects } from "../fixtures/effects-db.js";
import { createChecker } from "../support/checker.js";
import { startNatsCluster, type NatsCluster } from "../support/nats-cluster.js";
import { sleep } from "../support/wait.js";
import { consumeOrdered, GROUP, publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

const COUNT = 3000;
const PREFIX = "cluster";

describe("faults - nats 3-node cluster", () => {
  let cluster: NatsCluster | undefined;
  let dir: string | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    await cluster.ready(60_000);
    dir = mkdtempSync(join(tmpdir(), "missive-nats-cluster-fault-"));
  }, 90_000);
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openBus(servers: readonly string[], inbox?: ReturnType<typeof openEffects>["inbox"]): Promise<Bus> {
    const transport: NatsTransport = natsTransport({ servers, prefix: PREFIX, replicas: 3, publishTimeoutMs: 2_000, pingIntervalMs: 1_000 });
    const bus = await missive({ service: "nats-cluster", transport, ...(inbox ? { inbox } : {}), publisher: { timeout: "60s" } });
    closers.push(async () => {
      await bus.close({ deadline: "2s" }).catch(() => transport.kill());
    });
    return bus;
  }

  async function leaderOf(stream: string): Promise<string | undefined> {
    const nc = await connect({ servers: [...cluster!.servers] });
    try {
      return (await (await jetstreamManager(nc)).streams.info(stream)).cluster?.leader;
    } finally {
      await nc.close();
    }
  }

  it("faults - nats cluster: SIGKILL of the stream leader mid-stream loses no confirmed message, doubles no effect, breaks no key's order", async () => {
    const started = Date.now();
    const checker = createChecker();
    const path = join(dir!, "effects.db");
    const effects = openEffects(path);
    closers.push(async () => effects.close());
    const producer = await openBus(cluster!.servers);
    await producer.declare(OrderPlaced, GROUP);
    const consumer = await openBus(cluster!.servers, effects.inbox);
    await consumeOrdered(consumer, effects, checker, { workMs: 2 });

    const leader = await leaderOf(natsNames(PREFIX).topicStream(OrderPlaced.type));
    const victim = cluster!.nodes.find((n) => n.name === leader);
    expect(victim).toBeDefined();
    let killedAt = 0;
    let confirmedAtKill = 0;
    let resumedAt = 0;
    const published = await publishKeyed(producer, checker, {
      count: COUNT,
      keys: 20,
      onConfirmed: (n) => {
        if (n === 1000 && killedAt === 0) {
          killedAt = Date.now();
          void victim!.kill().then(() => (confirmedAtKill = n));
        } else if (confirmedAtKill !== 0 && resumedAt === 0) {
          resumedAt = Date.now();
        }
      },
    });
    const drained = await settled(path, published.confirmedIds, 120_000);
    await sleep(1_000);
    const back = readBack(path, checker);
    const r = checker.check();
    const newLeader = await leaderOf(natsNames(PREFIX).topicStream(OrderPlaced.type));
    console.log(`[fault] nats cluster leader kill: killed=${leader} new_leader=${newLeader} ms_until_publishing_resumed=${resumedAt - killedAt} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(killedAt).toBeGreaterThan(0);
    expect(newLeader).not.toBe(leader);
    expect(published.rejected).toBe(0);
    expect(r.confirmed).toBe(COUNT);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 240_000);
});

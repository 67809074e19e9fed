/**
 * A replicated RabbitMQ (issue 15, item 4): a three-node cluster of this
 * file's own on loopback (test/support/rabbitmq-cluster.ts; the shared node
 * on 5672 is never touched), quorum queues with a replica on every node.
 * Producer and ordered consumer (with the SQLite inbox) run in this process,
 * each transport given all three nodes (`url` plus `failoverUrls`). While
 * they stream, the node that leads the group's partition queues is
 * SIGKILLed; the stream goes on through the two survivors (a quorum of
 * three). Counted: lost confirmed 0, double effects 0, per-key order
 * violations 0, every confirmed message handled within DRAIN_MS. Before,
 * in about 2 of 7 runs the ordered consumer never took some partitions back:
 * its connection was lost a second time while it rejoined the group, a
 * second join started beside the first, and the subscription counted itself
 * twice and took half its share (test/transports/rabbitmq-partition-ownership.test.ts).
 * Printed, not asserted (they depend on the load): how long publishing and
 * consuming stalled after the SIGKILL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { EffectsDb } from "../fixtures/effects-db.js";
import { missingBinary } from "../support/broker-process.js";
import { createChecker, type Checker } from "../support/checker.js";
import { recordingLogger, type RecordingLogger } from "../support/recording-logger.js";
import { installedRabbitmqVersion, startRabbitmqCluster, type ClusterNode, type RabbitmqCluster } from "../support/rabbitmq-cluster.js";
import { waitFor } from "../support/wait.js";
import { effectsFile, GROUP, openBus, publishKeyed, rabbitmqFaults, readBack, settled } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults({ shared: false, missing: () => missingBinary("rabbitmq") });
const NODES = 3;
const COUNT = 2000;
const KILL_AT = 500;
const PARTITIONS = 2;
/** Every confirmed message has its effect within this long after the publishing ends. */
const DRAIN_MS = 30_000;
const VERSION = installedRabbitmqVersion() ?? "unknown version";

interface QueueRow {
  readonly name: string;
  readonly type: string;
  readonly leader: string;
  readonly members: string[];
}

async function queues(cluster: RabbitmqCluster, via: ClusterNode): Promise<QueueRow[]> {
  const out = await cluster.ctl(via, ["list_queues", "name", "type", "leader", "members", "--formatter", "json"]);
  return (JSON.parse(out) as Array<{ name: string; type: string; leader?: string; members?: string[] | string }>).map((q) => ({
    name: q.name,
    type: q.type,
    leader: q.leader ?? "",
    members: Array.isArray(q.members) ? q.members : [],
  }));
}

/** The ordered consumer with the inbox; `effectAt` holds when each message's effect committed. */
async function consume(bus: Bus, effects: EffectsDb, checker: Checker, effectAt: Map<string, number>): Promise<void> {
  await bus.consume(OrderPlaced, { group: GROUP, ordered: true, concurrency: 8, idempotency: effects.inbox }, async (order, ctx) => {
    checker.handled(ctx.message.id);
    await new Promise((r) => setTimeout(r, Math.random() * 4));
    await ctx.transaction((tx) => effects.record(tx, ctx.message.id, order.orderId, order.seq));
    effectAt.set(ctx.message.id, Date.now());
  }).ready;
}

/** The consumer's warnings and errors, once each with a count and its first error's message: why it stalled, if it did. */
function warningsOf(log: RecordingLogger): string[] {
  const warned = new Map<string, { n: number; err: string }>();
  for (const l of log.lines) {
    if (l.level !== "warn" && l.level !== "error") continue;
    const seen = warned.get(`${l.level}:${l.msg}`) ?? { n: 0, err: String((l.obj["err"] as Error | undefined)?.message ?? "").slice(0, 160) };
    warned.set(`${l.level}:${l.msg}`, { ...seen, n: seen.n + 1 });
  }
  return [...warned].map(([line, w]) => `${line} ×${w.n}${w.err ? ` (first: ${w.err})` : ""}`);
}

/** The longest gap between `from` and the times after it (how long a stream stalled across the fault). */
function longestGap(from: number, times: Iterable<number>): number {
  const after = [from, ...[...times].filter((t) => t >= from).sort((a, b) => a - b)];
  return Math.max(0, ...after.slice(1).map((t, i) => t - after[i]!));
}

// The name carries no RabbitMQ version: docs/guarantees.md is written from it, on whatever machine. The [fault] line says it.
describe(`faults - rabbitmq cluster (${NODES} nodes, quorum queues, ${NODES} replicas)`, () => {
  let cluster: RabbitmqCluster | undefined;
  beforeAll(async () => {
    if (!fx.skip()) cluster = await startRabbitmqCluster({ size: NODES });
  }, 150_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it(`faults - rabbitmq cluster (${NODES} nodes, quorum, ${NODES} replicas): the queue leader's node SIGKILLed mid-stream — lost confirmed 0, double effects 0, order violations 0, every partition consumed again`, async ({ skip }) => {
    if (fx.skip() || !cluster) return skip();
    const c = cluster;
    const started = Date.now();
    const [first, ...others] = c.nodes;
    if (!first) throw new Error("no nodes");
    expect((await c.ctl(first, ["version"])).trim()).toBe(VERSION);
    const nodeOptions = { url: first.url, failoverUrls: others.map((n) => n.url), queueType: "quorum" as const, partitions: PARTITIONS };
    const checker = createChecker();
    const { path, effects } = effectsFile(fx);
    const { bus: producer } = await openBus(fx, { ...nodeOptions, confirmTimeoutMs: 5000 }, undefined, { publisher: { timeout: "60s" } });
    await producer.declare(OrderPlaced, GROUP);
    const consumerLog = recordingLogger();
    const { bus: consumer } = await openBus(fx, { ...nodeOptions, heartbeatSeconds: 2 }, effects, { logger: consumerLog });
    const effectAt = new Map<string, number>();
    await consume(consumer, effects, checker, effectAt);

    // Every quorum queue has a replica on each node; the partitions' leader is the node to kill.
    const declared = await queues(c, first);
    const quorum = declared.filter((q) => q.type === "quorum");
    const partitions = quorum.filter((q) => /\.partition\.\d+$/.test(q.name));
    expect(partitions.length).toBe(PARTITIONS);
    for (const q of quorum) expect({ queue: q.name, replicas: q.members.length }).toEqual({ queue: q.name, replicas: NODES });
    const leaders = new Map<string, number>();
    for (const q of partitions) leaders.set(q.leader, (leaders.get(q.leader) ?? 0) + 1);
    const leaderName = [...leaders.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const leader = c.nodes.find((n) => n.name === leaderName);
    if (!leader) throw new Error(`no node of this cluster leads the partitions: ${JSON.stringify(partitions)}`);
    const survivor = c.nodes.find((n) => n !== leader)!;

    let confirmed = 0;
    let killedAt = 0;
    const confirmTimes: number[] = [];
    const stream = publishKeyed(producer, checker, {
      count: COUNT,
      keys: 30,
      onConfirmed: (n) => {
        confirmed = n;
        confirmTimes.push(Date.now());
      },
    });
    await waitFor(() => confirmed >= KILL_AT, 60_000, `${KILL_AT} confirms before the kill`);
    const killedWhen = `${confirmed}/${effectAt.size}`;
    killedAt = Date.now();
    await leader.kill();
    const goneAt = Date.now();
    const published = await stream;
    const publishedAt = Date.now();
    const drained = await settled(path, published.confirmedIds, DRAIN_MS);
    const drainMs = Date.now() - publishedAt;
    const after = await queues(c, survivor);
    const newLeaders = after.filter((q) => /\.partition\.\d+$/.test(q.name)).map((q) => `${q.name}@${q.leader}`);
    const locks = drained ? "" : await c.ctl(survivor, ["list_queues", "name", "pid", "owner_pid", "exclusive", "consumers"]).catch((err: unknown) => String(err));

    const back = readBack(path, checker);
    const r = checker.check();
    const publishStallMs = longestGap(killedAt, confirmTimes);
    const consumeStallMs = longestGap(killedAt, effectAt.values());
    const confirmedAfterKill = confirmTimes.filter((t) => t > killedAt).length;
    console.log(`[fault] rabbitmq cluster: nodes=${NODES} version=${VERSION} queue_type=quorum replicas=${NODES} partitions=${PARTITIONS} killed=${leader.name} (led ${leaders.get(leader.name)}/${PARTITIONS} partitions, clients first on ${first.name}) kill@confirmed/effects=${killedWhen} publish_stall_ms=${publishStallMs} consume_stall_ms=${consumeStallMs} kill_took_ms=${goneAt - killedAt} confirmed_after_kill=${confirmedAfterKill} drained=${drained} drain_after_publish_ms=${drainMs} new_leaders=${newLeaders.join(",")} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} consumer_warnings=${warningsOf(consumerLog).join(" || ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}${locks ? `\nqueues on ${survivor.name}:\n${locks}` : ""}`);
    expect(r.attempted).toBe(COUNT);
    expect(r.confirmed).toBeGreaterThan(KILL_AT);
    // Publishing went on after the SIGKILL: more confirms than a socket's buffer of them could hold.
    expect(confirmedAfterKill).toBeGreaterThan(100);
    expect(newLeaders.every((l) => !l.endsWith(`@${leader.name}`))).toBe(true);
    expect(drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 150_000);
});

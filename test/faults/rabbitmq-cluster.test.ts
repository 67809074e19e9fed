/**
 * A replicated RabbitMQ (issue 15, item 4): a three-node cluster of this
 * file's own on loopback (test/support/rabbitmq-cluster.ts; the shared node
 * on 5672 is never touched), quorum queues with a replica on every node.
 * Producer and ordered consumer (with the SQLite inbox) run in this process,
 * each transport given all three nodes (`url` plus `failoverUrls`). While
 * they stream, the node that leads the group's partition queues is
 * SIGKILLed; the stream goes on through the two survivors (a quorum of
 * three). Counted: lost confirmed 0, double effects 0, per-key order
 * violations 0; printed: how long publishing stalled (the longest wait for a
 * confirm from the SIGKILL on), not asserted, since it depends on the load.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlaced } from "../conformance/contracts.js";
import { missingBinary } from "../support/broker-process.js";
import { createChecker } from "../support/checker.js";
import { recordingLogger } from "../support/recording-logger.js";
import { installedRabbitmqVersion, startRabbitmqCluster, type ClusterNode, type RabbitmqCluster } from "../support/rabbitmq-cluster.js";
import { waitFor } from "../support/wait.js";
import { consumeOrdered, effectsFile, GROUP, openBus, publishKeyed, rabbitmqFaults, readBack, settled } from "./rabbitmq-fault-support.js";

const fx = rabbitmqFaults({ shared: false, missing: () => missingBinary("rabbitmq") });
const NODES = 3;
const COUNT = 2000;
const KILL_AT = 500;
const PARTITIONS = 2;
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

describe(`faults - rabbitmq cluster (${NODES} nodes, RabbitMQ ${VERSION}, quorum queues, ${NODES} replicas)`, () => {
  let cluster: RabbitmqCluster | undefined;
  beforeAll(async () => {
    if (!fx.skip()) cluster = await startRabbitmqCluster({ size: NODES });
  }, 150_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it(`faults - rabbitmq cluster (${NODES} nodes, quorum, ${NODES} replicas): SIGKILL of the queue leader's node mid-stream — lost confirmed 0, double effects 0, order violations 0`, async ({ skip }) => {
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
    const committed = await consumeOrdered(consumer, effects, checker, { concurrency: 8, workMs: 4 });

    // Every quorum queue has a replica on each node; the partitions' leader is the node to kill.
    const declared = await queues(c, first);
    const quorum = declared.filter((q) => q.type === "quorum");
    const partitions = quorum.filter((q) => q.name.startsWith(`${GROUP}.partition.`));
    expect(partitions.length).toBe(PARTITIONS);
    for (const q of quorum) expect({ queue: q.name, replicas: q.members.length }).toEqual({ queue: q.name, replicas: NODES });
    const leaders = new Map<string, number>();
    for (const q of partitions) leaders.set(q.leader, (leaders.get(q.leader) ?? 0) + 1);
    const leaderName = [...leaders.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const leader = c.nodes.find((n) => n.name === leaderName);
    if (!leader) throw new Error(`no node of this cluster leads the partitions: ${JSON.stringify(partitions)}`);
    const survivor = c.nodes.find((n) => n !== leader)!;

    let confirmed = 0;
    let goneAt = 0; // the node's process group is gone: a confirm after this came through a survivor
    let firstConfirmAfterGone = 0;
    const confirmTimes: number[] = [];
    const stream = publishKeyed(producer, checker, {
      count: COUNT,
      keys: 30,
      onConfirmed: (n) => {
        confirmed = n;
        confirmTimes.push(Date.now());
        if (goneAt > 0 && firstConfirmAfterGone === 0) firstConfirmAfterGone = Date.now();
      },
    });
    await waitFor(() => confirmed >= KILL_AT, 60_000, `${KILL_AT} confirms before the kill`);
    const killedWhen = `${confirmed}/${committed()}`;
    const killedAt = Date.now();
    await leader.kill();
    goneAt = Date.now();
    const published = await stream;
    const drained = await settled(path, published.confirmedIds, 60_000);
    const after = await queues(c, survivor);
    const newLeaders = after.filter((q) => q.name.startsWith(`${GROUP}.partition.`)).map((q) => `${q.name}@${q.leader}`);

    const back = readBack(path, checker);
    const r = checker.check();
    // What the consumer warned about, once each: why it stalled, if it did.
    const warned = new Map<string, { n: number; err: string }>();
    for (const l of consumerLog.lines) {
      if (l.level !== "warn" && l.level !== "error") continue;
      const seen = warned.get(`${l.level}:${l.msg}`) ?? { n: 0, err: String((l.obj["err"] as Error | undefined)?.message ?? "").slice(0, 200) };
      warned.set(`${l.level}:${l.msg}`, { ...seen, n: seen.n + 1 });
    }
    const warnings = [...warned].map(([line, w]) => `${line} ×${w.n}${w.err ? ` (first: ${w.err})` : ""}`);
    // How long publishing stalled: the longest wait for a confirm from the SIGKILL on (the
    // producer's node died with it, so the wait spans the reconnect and the new leader's election).
    const afterKill = [killedAt, ...confirmTimes.filter((t) => t >= killedAt)];
    const stallMs = Math.max(...afterKill.slice(1).map((t, i) => t - afterKill[i]!));
    console.log(`[fault] rabbitmq cluster: nodes=${NODES} version=${VERSION} queue_type=quorum replicas=${NODES} partitions=${PARTITIONS} killed=${leader.name} (led ${leaders.get(leader.name)}/${PARTITIONS} partitions, clients first on ${first.name}) kill@confirmed/committed=${killedWhen} publish_stall_ms=${stallMs} kill_took_ms=${goneAt - killedAt} new_leaders=${newLeaders.join(",")} drained=${drained} order_violations=${back.orderViolations} ${checker.summary()} errors=${published.errors.map(String).join(" | ")} consumer_warnings=${warnings.join(" || ")} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expect(r.attempted).toBe(COUNT);
    expect(r.confirmed).toBeGreaterThan(KILL_AT);
    expect(firstConfirmAfterGone).toBeGreaterThan(0);
    expect(newLeaders.every((l) => !l.endsWith(`@${leader.name}`))).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(back.violationSamples).toEqual([]);
    expect(back.orderViolations).toBe(0);
  }, 150_000);
});

/**
 * The two brokers the spool fault scenarios (spool-scenarios.ts) run on, behind
 * one seam: RabbitMQ reached through the fault harness's TCP proxy (cut:
 * connections refused and reset; silence: a blackhole), and the SQLite
 * transport, whose "outage" is another process holding the database's write
 * lock (there is no network; busy timeout 50 ms). Each world has its own
 * spool file, group binding and read-back of what reached the group.
 */
import { join } from "node:path";
import { OrderPlaced } from "../conformance/contracts.js";
import type { PublishOutcome, SpoolProducerArgs } from "../fixtures/spool-producer.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { openBus, viaPort, type RabbitmqFaults } from "./rabbitmq-fault-support.js";
import { declareGroup, type FaultFile } from "./sqlite-fault-support.js";
import { consumeAll, GROUP, rabbitmqChild, spoolPublisher, sqliteQueue, startLocker, type Delivered } from "./spool-fault-support.js";

export interface SpoolBound {
  readonly maxMessages?: number;
  readonly whenFull?: "wait" | "reject";
  readonly flushBatch?: number;
}

export interface SpoolFaultWorld {
  readonly name: "rabbitmq" | "sqlite";
  readonly spoolPath: string;
  /** The spool producer's arguments: this world's broker, the world's spool file with `bound`, other publisher options. */
  producerArgs(bound?: SpoolBound, extra?: Partial<SpoolProducerArgs["publisher"]>): SpoolProducerArgs;
  /** Unreachable (connections refused and reset / the write lock held); the Unix ms it holds from. */
  cut(): Promise<number>;
  /** Silent (packets dropped / the write lock held); the Unix ms it holds from. */
  silence(): Promise<number>;
  /** Reachable again; the Unix ms. */
  heal(): Promise<number>;
  /** What reached the group, in the order its queue had it, once every id of `expected` did (or `timeoutMs` passed). */
  delivered(expected: ReadonlySet<string>, outcomes: readonly PublishOutcome[], timeoutMs?: number): Promise<Delivered[]>;
  /** How many messages the group's queue holds now, where it can be read without consuming (SQLite). */
  queuedNow?(outcomes: readonly PublishOutcome[]): number;
  /** Extra counts for the log line (connections through the proxy). */
  logExtras(): string;
  /** Every delivery is exactly once here (no connection to lose mid-confirm): duplicates are asserted 0. */
  readonly exactlyOnce: boolean;
}

/** RabbitMQ in a vhost of the test's own, the producer connected through a TCP proxy. */
export async function rabbitmqWorld(fx: RabbitmqFaults): Promise<SpoolFaultWorld & { readonly proxy: TcpProxy }> {
  const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
  fx.defer(() => proxy.stop());
  const { bus: setup } = await openBus(fx, { url: fx.vhost().url });
  await setup.declare(OrderPlaced, GROUP);
  const spoolPath = join(fx.dir(), "producer.spool.db");
  return {
    name: "rabbitmq",
    proxy,
    spoolPath,
    exactlyOnce: false,
    producerArgs: (bound = {}, extra = {}) => ({
      transport: { rabbitmq: rabbitmqChild(viaPort(fx.vhost().url, proxy.port)) },
      publisher: spoolPublisher(spoolPath, bound, extra),
    }),
    async cut() {
      const at = Date.now();
      await proxy.refuse();
      proxy.reset();
      return at;
    },
    async silence() {
      const at = Date.now();
      await proxy.blackhole();
      return at;
    },
    async heal() {
      await proxy.pass();
      return Date.now();
    },
    delivered: (expected, _outcomes, timeoutMs = 60_000) => consumeAll(setup, expected, timeoutMs, 2000),
    logExtras: () => `connections=${proxy.stats.accepted}`,
  };
}

/** The SQLite transport on the test's own file; a locker process takes its write lock on cue. */
export async function sqliteWorld(file: FaultFile): Promise<SpoolFaultWorld> {
  await declareGroup(file.path);
  const locker = await startLocker(file.path);
  const spoolPath = join(file.dir, "producer.spool.db");
  return {
    name: "sqlite",
    spoolPath,
    exactlyOnce: true,
    producerArgs: (bound = {}, extra = {}) => ({
      transport: { sqlite: `sqlite://${file.path}?busyTimeoutMs=50` },
      publisher: spoolPublisher(spoolPath, bound, extra),
    }),
    cut: () => locker.lock(),
    silence: () => locker.lock(),
    heal: () => locker.release(),
    // Nothing consumes in the SQLite tests: once the producer settled, the queue table is the read-back.
    delivered: (_expected, outcomes) => Promise.resolve(sqliteQueue(file.path, outcomes)),
    queuedNow: (outcomes) => sqliteQueue(file.path, outcomes).length,
    logExtras: () => "",
  };
}

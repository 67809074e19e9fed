/**
 * The NATS JetStream transport (ADR 010, docs/transports/nats.md): a
 * stream per topic and one per group, a durable pull consumer per group
 * and stream, PubAck as the confirm with the message id as `Nats-Msg-Id`.
 * Dead letters go to a stream of their own. No native delay on server
 * 2.9 (the runtime fills it in); key order across processes by partition
 * consumers with one owner each (ordered-gate.ts, ADR 012).
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { AuthorizationError, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { AuthenticationError, ClosedError, ConnectionError } from "../../errors.js";
import type { BrokerPing, DurabilityReporting, NativeDeadLetters, QueueInspection, ServiceReporting, TopologyDeclaration } from "../../transport/abilities.js";
import { ContextSlot, reasonOf } from "../../transport/context.js";
import type { ServiceReport } from "../../transport/service-report.js";
import type {
  DeadLetterStore,
  DurabilityReport,
  OutgoingMessage,
  PublishResult,
  QueueStats,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportCapabilities,
  TransportContext,
} from "../../transport/transport.js";
import { NatsDeadLetterStore } from "./dead-letter-store.js";
import { readNatsDurability } from "./durability.js";
import { natsNames, type NatsNames } from "./names.js";
import { parseNatsUrl, resolveNatsOptions, type NatsTransportOptions, type ResolvedNatsOptions } from "./options.js";
import { requeueCopy, WindowedPublisher } from "./publisher.js";
import { NatsServiceReports } from "./service-reports.js";
import { readNatsStats } from "./stats.js";
import { NatsSubscription, type PullSource } from "./subscription.js";
import { OrderedGate } from "./ordered-gate.js";
import { PartitionLocks } from "./partition-locks.js";
import { PartitionOwner, type PartitionProbe } from "./partition-owner.js";
import { Topology } from "./topology.js";

/** How long connect, ping and the management calls wait, ms. */
const API_TIMEOUT_MS = 5_000;

export interface NatsTransport extends Transport, NativeDeadLetters, QueueInspection, DurabilityReporting, BrokerPing, TopologyDeclaration, ServiceReporting {
  readonly deadLetters: DeadLetterStore;
  /** The prefix of missive's streams and subjects on this server. */
  readonly prefix: string;
  /** Drop the connection with nothing settled or given back, as SIGKILL would (tests of crash redelivery). */
  kill(): Promise<void>;
}

/** A transport for `nats://host:port` or options; it connects on `connect()`. */
export function natsTransport(options: NatsTransportOptions | string): NatsTransport {
  return new NatsTransportImpl(resolveNatsOptions(typeof options === "string" ? parseNatsUrl(options) : options));
}

interface Link {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly topology: Topology;
  readonly publisher: WindowedPublisher;
}

class NatsTransportImpl implements NatsTransport {
  readonly name = "nats";
  readonly capabilities: TransportCapabilities;
  readonly prefix: string;
  readonly deadLetters: NatsDeadLetterStore;
  private readonly names: NatsNames;
  private readonly reports: NatsServiceReports;
  private readonly context = new ContextSlot();
  private readonly subscriptions = new Set<NatsSubscription>();
  private readonly temporaryGroups = new Set<string>();
  private linking: Promise<Link> | undefined;
  private open = true;
  /** The connection is up or coming back; false once closed or killed. */
  readonly connection = { live: true };

  constructor(private readonly options: ResolvedNatsOptions) {
    this.prefix = options.prefix;
    this.names = natsNames(options.prefix);
    this.deadLetters = new NatsDeadLetterStore({ link: () => this.link() }, this.names, options.replicas, options.create);
    this.reports = new NatsServiceReports(() => this.link(), this.names, options.replicas);
    this.capabilities = Object.freeze({
      nativeDelay: false,
      ordering: "key",
      maxMessageBytes: options.maxMessageBytes,
      attempts: "exact",
      leaseRenewal: "transport",
    });
  }

  async connect(context?: TransportContext): Promise<void> {
    this.context.use(context);
    await this.link();
  }

  async bind(group: string, topics: readonly string[]): Promise<void> {
    const { topology } = await this.link();
    await topology.bind(group, topics);
  }

  /** `missive topology`: the group's streams and consumers, made even when `create` is off (an operator's run). */
  async declareTopology(group: string, topics: readonly string[]): Promise<void> {
    const { topology } = await this.link();
    await topology.bind(group, topics, undefined, true);
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const { publisher } = await this.link();
    return publisher.publish(batch);
  }

  async subscribe(o: SubscribeOptions): Promise<Subscription> {
    if (o.ordered && o.temporary !== true) return this.subscribeOrdered(o);
    const { nc, topology } = await this.link();
    await topology.bind(o.group, o.topics, o.leaseMs, this.options.create, o.temporary !== true);
    if (o.temporary === true) this.temporaryGroups.add(o.group);
    const consumer = this.names.consumer(o.group);
    const sources: PullSource[] = [
      { stream: this.names.groupStream(o.group), consumer, topic: undefined },
      ...o.topics.map((topic) => ({ stream: this.names.topicStream(topic), consumer, topic })),
    ].map((s) => ({
      ...s,
      ensure: () => topology.bind(o.group, s.topic === undefined ? [] : [s.topic], o.leaseMs),
    }));
    const sub = new NatsSubscription(nc, sources, o.group, o.prefetch, o.leaseMs, this.context, this.connection, async (closed) => {
      this.subscriptions.delete(closed);
      if (o.temporary === true && this.connection.live) {
        this.temporaryGroups.delete(o.group);
        await topology.unbind(o.group, o.topics);
      }
    }, this.deadLetters, (d, attemptsBefore) => requeueCopy(nc, this.names, d, attemptsBefore, this.options.publishTimeoutMs));
    this.subscriptions.add(sub);
    return sub;
  }

  /** An ordered group (ADR 012): partition consumers on every topic stream, pulled only while this member owns them. */
  private async subscribeOrdered(o: SubscribeOptions): Promise<Subscription> {
    const { nc, jsm, topology } = await this.link();
    const n = this.options.partitions;
    const locks = new PartitionLocks(nc, this.names, this.options.replicas);
    // The lock stream is no part of the group's topology: both are made at once.
    await Promise.all([topology.bindOrdered(o.group, o.topics, n, o.leaseMs), locks.ensure(jsm)]);
    const consumer = this.names.consumer(o.group);
    const ensure = (): Promise<boolean> => topology.bindOrdered(o.group, o.topics, n, o.leaseMs);
    const sources: PullSource[] = [
      { stream: this.names.groupStream(o.group), consumer, topic: undefined, ensure },
      ...o.topics.flatMap((topic) => [
        { stream: this.names.topicStream(topic), consumer, topic, ensure },
        ...Array.from({ length: n }, (_, partition) => ({ stream: this.names.topicStream(topic), consumer: this.names.partitionConsumer(o.group, partition), topic, ensure, partition })),
      ]),
    ];
    const probe = async (index: number): Promise<PartitionProbe> => {
      let pending = 0;
      let ackWaitMs = o.leaseMs;
      const infos = await Promise.all(o.topics.map((topic) => jsm.consumers.info(this.names.topicStream(topic), this.names.partitionConsumer(o.group, index))));
      for (const info of infos) {
        pending += info.num_ack_pending;
        ackWaitMs = Math.max(ackWaitMs, Math.ceil((info.config.ack_wait ?? 0) / 1_000_000));
      }
      return { pending, ackWaitMs };
    };
    const owner: PartitionOwner = new PartitionOwner({
      locks, group: o.group, partitions: n, probe, log: this.context.log,
      holding: (index): number => gate.holding(index),
      givenBack: (index) => gate.givenBack(index),
      changed: () => sub.poke(),
    });
    const gate: OrderedGate = new OrderedGate(owner, this.context.log, o.group);
    const sub = new NatsSubscription(nc, sources, o.group, o.prefetch, o.leaseMs, this.context, this.connection, async (closed) => {
      this.subscriptions.delete(closed);
    }, this.deadLetters, (d, attemptsBefore) => requeueCopy(nc, this.names, d, attemptsBefore, this.options.publishTimeoutMs), gate);
    this.subscriptions.add(sub);
    // Claims start only now: holding() and changed() reach the gate and the subscription.
    await owner.start();
    return sub;
  }

  async stats(): Promise<QueueStats[]> {
    const { nc, jsm } = await this.link();
    return readNatsStats(nc, jsm, this.names, this.temporaryGroups, (group) => this.deadLetters.countOf(group));
  }

  async writeReport(report: ServiceReport): Promise<void> {
    await this.reports.write(report);
  }

  async readReports(sinceMs: number): Promise<ServiceReport[]> {
    return this.reports.read(sinceMs);
  }

  async durability(): Promise<DurabilityReport> {
    const { nc, jsm } = await this.link();
    return readNatsDurability(jsm, this.names, nc.info?.version);
  }

  /** A JetStream API round trip (account info): the server answers and JetStream is on. */
  async ping(): Promise<void> {
    const { jsm } = await this.link();
    try {
      await jsm.getAccountInfo();
    } catch (err) {
      throw new ConnectionError(`nats: the server did not answer a JetStream ping: ${reasonOf(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const linking = this.linking;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.connection.live = false;
    if (linking === undefined) return;
    try {
      const { nc } = await linking;
      // drain() flushes the releases and acks sent so far; what is still held comes back after its ack wait.
      await nc.drain();
    } catch (err) {
      this.context.log.debug({ err }, "nats: closing a connection that never opened or already failed");
    }
  }

  async kill(): Promise<void> {
    this.open = false;
    this.connection.live = false;
    const linking = this.linking;
    if (linking === undefined) return;
    try {
      await (await linking).nc.close();
    } catch (err) {
      this.context.log.debug({ err }, "nats: killing a connection that never opened");
    }
  }

  private link(): Promise<Link> {
    if (!this.open) return Promise.reject(new ClosedError("nats: the transport is closed"));
    this.linking ??= this.dial().catch((err: unknown) => {
      this.linking = undefined;
      throw err;
    });
    return this.linking;
  }

  private async dial(): Promise<Link> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: [...this.options.servers],
        ...(this.options.user === undefined ? {} : { user: this.options.user }),
        ...(this.options.pass === undefined ? {} : { pass: this.options.pass }),
        name: "missive",
        timeout: API_TIMEOUT_MS,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: this.options.pingIntervalMs,
        maxPingOut: 2,
        // Without it the client builds two errors (stack traces taken) per request in case it fails: a tenth of the
        // publish CPU, one request per PubAck. Every failure is mapped to missive's own error, with its own stack.
        noAsyncTraces: true,
      });
    } catch (err) {
      if (err instanceof AuthorizationError) throw new AuthenticationError(`nats: the server refused the credentials: ${err.message}`, { cause: err });
      throw new ConnectionError(`nats: cannot connect to ${this.options.servers.join(",")}: ${reasonOf(err)}`, { cause: err });
    }
    this.watch(nc);
    const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS }).catch(async (err: unknown) => {
      await nc.close();
      throw new ConnectionError(`nats: JetStream is not available on ${this.options.servers.join(",")}: ${reasonOf(err)}`, { cause: err });
    });
    const publisher = new WindowedPublisher(nc, this.names, {
      window: this.options.publishWindow,
      timeoutMs: this.options.publishTimeoutMs,
      maxMessageBytes: this.options.maxMessageBytes,
    });
    return { nc, jsm, topology: new Topology(jsm, this.names, this.options), publisher };
  }

  /** Connection changes reach the bus's status; after a reconnect, pulls are made again (the server may have lost them). */
  private watch(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") {
          this.context.report({ kind: "connection", state: "down", reason: `disconnected from ${s.server}` });
          for (const sub of this.subscriptions) sub.disconnected();
        }
        else if (s.type === "reconnect") {
          this.context.report({ kind: "connection", state: "up" });
          this.linking?.then((l) => l.topology.forget(), (err: unknown) => this.context.log.debug({ err }, "nats: reconnected before the link was made"));
          for (const sub of this.subscriptions) sub.forgetPulls();
        }
      }
    })().catch((err: unknown) => this.context.log.error({ err }, "nats: watching the connection's status failed"));
  }
}

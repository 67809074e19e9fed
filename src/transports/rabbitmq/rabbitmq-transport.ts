/**
 * The RabbitMQ transport (docs/transports/rabbitmq.md): durable exchanges per
 * message type, a durable queue per consumer group (quorum by default),
 * publisher confirms with `mandatory`, manual acks, delay levels for
 * retries, a dead-letter queue per group, direct reply-to, and a connection
 * that comes back by itself.
 */
import { PRIORITY_LEVELS } from "../../envelope/expiry-priority.js";
import { ClosedError, ConfigurationError } from "../../errors.js";
import type {
  DeadLetterStore, DurabilityReport, OutgoingMessage, PublishResult, QueueStats, SubscribeOptions, Subscription, Transport, TransportCapabilities, TransportContext,
} from "../../transport/transport.js";
import type { BrokerPing, DurabilityReporting, NativeDeadLetters, QueueInspection, ReplyAddress, ReplyInbox, ServiceReporting, TopologyDeclaration } from "../../transport/abilities.js";
import type { ServiceReport } from "../../transport/service-report.js";
import { Catalog } from "./catalog.js";
import { RabbitmqDeadLetterStore } from "./dead-letter-store.js";
import { CATALOG_STREAM, checkGroupName, checkTopicName, RELEASE_STREAM, STATUS_STREAM } from "./names.js";
import { resolveRabbitmqOptions, type RabbitmqTransportOptions, type ResolvedRabbitmqOptions } from "./options.js";
import { OrderedSubscription } from "./ordered-subscription.js";
import { Publisher } from "./publisher.js";
import { readRabbitmqDurability } from "./durability-report.js";
import { PING_WAIT_MS, pingBroker } from "./ping.js";
import { ProcessBeacon, liveProcesses } from "./process-beacon.js";
import { QueueProbe } from "./queue-probe.js";
import type { ReleaseLedger } from "./release-ledger.js";
import { declareStream } from "./stream-reader.js";
import { RELEASE_STREAM_ARGS, StreamReleaseLedger } from "./stream-release-ledger.js";
import { ReplySubscription } from "./reply-subscription.js";
import { AmqpSession } from "./session.js";
import { StatsReader } from "./stats.js";
import { readRecentStatusRecords } from "./status-reader.js";
import { LIVE_MS, STATUS_STREAM_ARGS, StatusReporter } from "./status-reporter.js";
import { ServiceReportStream } from "./service-report-stream.js";
import { RabbitmqSubscription } from "./subscription.js";
import { Topology } from "./topology.js";

/** RabbitMQ's default `max_message_size` (128 MiB). */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export interface RabbitmqTransport extends Transport, NativeDeadLetters, QueueInspection, DurabilityReporting, TopologyDeclaration, ReplyAddress, BrokerPing, ServiceReporting {
  readonly deadLetters: DeadLetterStore;
  readonly options: ResolvedRabbitmqOptions;
  /** Drop the connection as a crash or a cut network would: nothing settles, the broker takes back what was unacked. For fault tests. */
  destroy(): void;
}

export function rabbitmqTransport(options: RabbitmqTransportOptions | string): RabbitmqTransport {
  return new RabbitmqTransportImpl(resolveRabbitmqOptions(typeof options === "string" ? { url: options } : options));
}

class RabbitmqTransportImpl implements RabbitmqTransport {
  readonly name = "rabbitmq";
  readonly capabilities: TransportCapabilities;
  readonly deadLetters: RabbitmqDeadLetterStore;
  private readonly session: AmqpSession;
  private readonly topology: Topology;
  private readonly publisher: Publisher;
  private readonly ledger: ReleaseLedger;
  private readonly catalog: Catalog;
  private readonly status: StatusReporter;
  private readonly beacon: ProcessBeacon;
  private readonly statsReader: StatsReader;
  private readonly reports: ServiceReportStream;
  private readonly subscriptions = new Set<RabbitmqSubscription | OrderedSubscription | ReplySubscription>();
  /** Partitions owned by this process's ordered subscriptions: their locks are per connection, so shared by them all. */
  private readonly claims = new Set<string>();
  private closed = false;

  constructor(readonly options: ResolvedRabbitmqOptions) {
    this.capabilities = Object.freeze({
      nativeDelay: true,
      // Ordered groups are partitioned by key onto one consumer at a time (ordered-subscription.ts, ADR 007).
      ordering: "key",
      maxMessageBytes: MAX_MESSAGE_BYTES,
      // Classic priority queues (options.priorities); only unkeyed messages carry a priority (publisher.ts), so keyed
      // ones keep publish order (docs/expiry-priority.md).
      priorities: options.priorities ? PRIORITY_LEVELS : 0,
    });
    this.session = new AmqpSession(options);
    const publish = (batch: readonly OutgoingMessage[]): Promise<PublishResult[]> => this.publisher.publish(batch);
    // AMQP cannot list queues: the topology tells the catalog what it declared, and stats and dead letters read it back.
    this.catalog = new Catalog(this.session, options.declare);
    this.topology = new Topology(this.session, options, this.catalog);
    this.publisher = new Publisher(this.session, this.topology, options, MAX_MESSAGE_BYTES);
    this.ledger = new StreamReleaseLedger(this.session, options.declare);
    this.deadLetters = new RabbitmqDeadLetterStore(this.session, this.catalog, publish);
    this.status = new StatusReporter(this.session, options.declare);
    this.beacon = new ProcessBeacon(this.session, options);
    this.statsReader = new StatsReader(this.session, this.catalog, this.status, options.declare);
    this.reports = new ServiceReportStream(this.session, options.declare);
  }

  async connect(context?: TransportContext): Promise<void> {
    this.assertOpen();
    // Every part shares the session, and logs and reports through the context it carries.
    this.session.context.use(context);
    await this.session.connect();
  }

  async bind(group: string, topics: readonly string[]): Promise<void> {
    this.assertOpen();
    checkGroupName(group);
    for (const t of topics) checkTopicName(t);
    await this.topology.ensureGroup(group, topics, false);
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    this.assertOpen();
    this.beacon.activate();
    return this.publisher.publish(batch);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    checkGroupName(options.group);
    for (const t of options.topics) checkTopicName(t);
    const durable = options.temporary !== true;
    this.beacon.activate();
    if (durable && !options.ordered && await this.topology.isPartitioned(options.group)) {
      throw new ConfigurationError(`rabbitmq: group ${JSON.stringify(options.group)} is ordered (partitioned by key); consume it with \`ordered: true\``);
    }
    const subscription = durable && options.ordered ? this.orderedSubscription(options) : new RabbitmqSubscription({
      session: this.session,
      topology: this.topology,
      publish: (batch) => this.publisher.publish(batch),
      ledger: this.ledger,
      onFinished: (s) => {
        this.subscriptions.delete(s);
        this.status.untrack(options.group, s);
      },
    }, options);
    this.subscriptions.add(subscription);
    if (options.temporary !== true) this.status.track(options.group, subscription);
    try {
      await subscription.start();
    } catch (err) {
      this.subscriptions.delete(subscription);
      this.status.untrack(options.group, subscription);
      await subscription.shutdown();
      throw err;
    }
    return subscription;
  }

  /** The runtime's request-reply: RabbitMQ's direct reply-to, no queue at all. */
  async openReplies(address: string, prefetch: number): Promise<ReplyInbox> {
    this.assertOpen();
    const reply = new ReplySubscription(address, prefetch, (topic, sink) => this.publisher.serveReplies(topic, sink), (topic) => this.publisher.stopReplies(topic), (s) => this.subscriptions.delete(s));
    this.subscriptions.add(reply);
    await reply.start();
    return reply;
  }

  private orderedSubscription(options: SubscribeOptions): OrderedSubscription {
    return new OrderedSubscription({
      session: this.session,
      topology: this.topology,
      publish: (batch) => this.publisher.publish(batch),
      ledger: this.ledger,
      partitions: this.options.partitions,
      claims: this.claims,
      onFinished: (s) => {
        this.subscriptions.delete(s);
        this.status.untrack(options.group, s);
      },
    }, options);
  }

  async declareTopology(group: string, topics: readonly string[]): Promise<void> {
    await this.bind(group, topics);
    // missive's own streams, which a service with `declare: false` only checks.
    await declareStream(this.session, CATALOG_STREAM, {}, true);
    await declareStream(this.session, STATUS_STREAM, STATUS_STREAM_ARGS, true);
    await declareStream(this.session, RELEASE_STREAM, RELEASE_STREAM_ARGS, true);
    await this.topology.ensureAllDelayLevels({ kind: "group", name: group });
    for (const topic of topics) await this.topology.ensureAllDelayLevels({ kind: "topic", name: topic });
  }

  stats(): Promise<QueueStats[]> {
    this.assertOpen();
    return this.statsReader.read();
  }

  async writeReport(report: ServiceReport): Promise<void> {
    this.assertOpen();
    await this.reports.write(report);
  }

  async readReports(sinceMs: number): Promise<ServiceReport[]> {
    this.assertOpen();
    return this.reports.read(sinceMs);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await pingBroker(this.session, PING_WAIT_MS);
  }

  async durability(): Promise<DurabilityReport> {
    this.assertOpen();
    const probe = new QueueProbe(this.session);
    try {
      const records: unknown[] = [];
      const now = Date.now();
      await readRecentStatusRecords(this.session, this.options.declare, now - LIVE_MS - 1000, (r) => {
        if ((r as { kind?: unknown } | null)?.kind === "process") records.push(r);
      });
      return await readRabbitmqDurability(probe, await this.catalog.groups(), liveProcesses(records, now));
    } finally {
      await probe.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.shutdown()));
    this.subscriptions.clear();
    await this.status.close();
    await this.beacon.close();
    await this.reports.close();
    await this.ledger.close();
    await this.deadLetters.close();
    await this.catalog.close();
    await this.publisher.close();
    await this.topology.close();
    await this.session.close();
  }

  /** Drop every connection as a crash would (tests): nothing is settled or closed cleanly. */
  destroy(): void {
    this.closed = true;
    this.beacon.stop();
    this.session.destroy();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
  }
}


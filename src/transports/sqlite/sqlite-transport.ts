/**
 * The SQLite transport: a durable broker in one file, shared safely by
 * several processes and several instances in one process (WAL, busy
 * timeout, IMMEDIATE write transactions). See docs/transports/sqlite.md.
 */
import { randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import type Database from "better-sqlite3";
import { ClosedError, ConfigurationError } from "../../errors.js";
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
import type { BrokerPing, DurabilityReporting, KeyBacklog, KeyBacklogInspection, NativeDeadLetters, QueueInspection, ServiceReporting } from "../../transport/abilities.js";
import type { ServiceReport } from "../../transport/service-report.js";
import { ServiceReportTable } from "./service-reports.js";
import { FailureSignatures } from "./failure-signatures.js";
import { ConsumerRegistry } from "./consumer-registry.js";
import { SqliteDeadLetterStore } from "./dead-letter-store.js";
import { readDurability } from "./durability.js";
import { PRIORITY_LEVELS } from "../../envelope/expiry-priority.js";
import { openDatabase } from "./open-database.js";
import { ProcessRegistry } from "./process-registry.js";
import { resolveSqliteOptions, type ResolvedSqliteOptions, type SqliteTransportOptions } from "./options.js";
import { QueueStore } from "./queue-store.js";
import { createKeyBacklogReader } from "./key-backlog.js";
import { createStatsReader } from "./stats.js";
import { SqliteSubscription } from "./subscription.js";
import { parseSqliteUrl } from "./url.js";
import { acquireChannel, releaseChannel, type WakeChannel } from "./wake.js";
import { WriteBatcher } from "./write-batcher.js";
import { ContextSlot } from "../../transport/context.js";

/** A Transport over one SQLite file, with the handle so handlers can write to the same file. */
export interface SqliteTransport extends Transport, NativeDeadLetters, QueueInspection, DurabilityReporting, BrokerPing, ServiceReporting, KeyBacklogInspection {
  /** The better-sqlite3 connection this transport writes with (use it for writes that must commit with an inbox row). */
  readonly database: Database.Database;
  /** The database file as configured. */
  readonly path: string;
  readonly deadLetters: DeadLetterStore;
  /** The table prefix in use (`missive_` by default). */
  readonly tablePrefix: string;
}

/** Open (creating if needed) the database at `options.path` or a `sqlite://` URL. Throws ConfigurationError when it cannot. */
export function sqliteTransport(options: SqliteTransportOptions | string): SqliteTransport {
  const resolved = resolveSqliteOptions(typeof options === "string" ? parseSqliteUrl(options) : options);
  return new SqliteTransportImpl(resolved);
}

/** Internal: the real file behind a transport, for the inbox's same-file check. */
export function fileKeyOf(transport: SqliteTransport): string | undefined {
  return transport instanceof SqliteTransportImpl ? transport.fileKey : undefined;
}

class SqliteTransportImpl implements SqliteTransport {
  readonly name = "sqlite";
  readonly capabilities: TransportCapabilities;
  readonly database: Database.Database;
  readonly path: string;
  readonly tablePrefix: string;
  readonly deadLetters: SqliteDeadLetterStore;
  readonly fileKey: string;
  private readonly writer: WriteBatcher;
  private readonly queue: QueueStore;
  private readonly channel: WakeChannel;
  private readonly subscriptions = new Set<SqliteSubscription>();
  private readonly consumers: ConsumerRegistry;
  private readonly processes: ProcessRegistry;
  private readonly reports: ServiceReportTable;
  private readonly readStats: () => QueueStats[];
  private readonly readKeyBacklog: (limit: number) => KeyBacklog[];
  private open = true;
  private closing: Promise<void> | undefined;
  /** The bus's logger and reporter, once connect() received them; the writer, registry and subscriptions log here. */
  private readonly context = new ContextSlot();

  constructor(private readonly options: ResolvedSqliteOptions) {
    this.path = options.path;
    this.tablePrefix = options.tablePrefix;
    this.capabilities = Object.freeze({
      nativeDelay: true,
      ordering: "key",
      maxMessageBytes: options.maxMessageBytes,
      priorities: PRIORITY_LEVELS,
    });
    this.database = openDatabase(options);
    // Instances on one file share wake-ups; `:memory:` databases are private to their connection.
    this.fileKey = this.database.memory ? `memory:${randomUUID()}` : realpathSync(this.database.name);
    this.channel = acquireChannel(this.fileKey);
    this.writer = new WriteBatcher(this.database, (groups) => this.channel.signal(groups), this.context);
    const signatures = new FailureSignatures(this.database, options.tablePrefix, this.writer);
    this.queue = new QueueStore(this.database, options.tablePrefix, this.writer, options.maxMessageBytes, signatures);
    this.deadLetters = new SqliteDeadLetterStore(this.database, options.tablePrefix, this.writer, signatures);
    this.consumers = new ConsumerRegistry(this.database, options.tablePrefix, this.writer, this.context);
    this.processes = new ProcessRegistry(this.database, options.tablePrefix, this.writer, this.context);
    this.reports = new ServiceReportTable(this.database, options.tablePrefix, this.writer);
    this.readStats = createStatsReader(this.database, options.tablePrefix);
    this.readKeyBacklog = createKeyBacklogReader(this.database, options.tablePrefix);
  }

  async connect(context?: TransportContext): Promise<void> {
    this.assertOpen();
    this.context.use(context);
  }

  async bind(group: string, topics: readonly string[]): Promise<void> {
    this.assertOpen();
    checkGroup(group);
    checkTopics(topics);
    await this.queue.bind(group, topics, false);
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    this.assertOpen();
    if (batch.length === 0) return [];
    if (!this.processes.recorded) await this.processes.register();
    return this.queue.publish(batch);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    checkGroup(options.group);
    checkTopics(options.topics);
    if (!Number.isSafeInteger(options.prefetch) || options.prefetch < 1) {
      throw new ConfigurationError(`sqlite transport: prefetch must be an integer >= 1, got ${String(options.prefetch)}`);
    }
    if (!Number.isFinite(options.leaseMs) || options.leaseMs < 1) {
      throw new ConfigurationError(`sqlite transport: leaseMs must be a positive number of ms, got ${String(options.leaseMs)}`);
    }
    const temporary = options.temporary === true;
    if (!this.processes.recorded) await this.processes.register();
    await this.queue.bind(options.group, options.topics, temporary);
    const consumerId = await this.consumers.register(options.group);
    const subscription = new SqliteSubscription(
      {
        queue: this.queue,
        channel: this.channel,
        fileKey: this.fileKey,
        pollMinMs: this.options.pollMinMs,
        pollMaxMs: this.options.pollMaxMs,
        isOpen: () => this.open,
        context: this.context,
        onFinished: (s) => {
          this.subscriptions.delete(s);
          this.consumers.unregister(consumerId);
        },
      },
      { group: options.group, prefetch: options.prefetch, ordered: options.ordered, leaseMs: Math.ceil(options.leaseMs), temporary },
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async stats(): Promise<QueueStats[]> {
    this.assertOpen();
    return this.readStats();
  }

  async keyBacklog(limit: number): Promise<KeyBacklog[]> {
    this.assertOpen();
    return this.readKeyBacklog(limit);
  }

  /** An empty write transaction: it takes the write lock (within the busy timeout) as a publish would. */
  async ping(): Promise<void> {
    this.assertOpen();
    await this.writer.submit(writesNothing);
  }

  async writeReport(report: ServiceReport): Promise<void> {
    this.assertOpen();
    await this.reports.write(report);
  }

  async readReports(sinceMs: number): Promise<ServiceReport[]> {
    this.assertOpen();
    return this.reports.read(sinceMs);
  }

  async durability(): Promise<DurabilityReport> {
    this.assertOpen();
    const now = Date.now();
    return readDurability(this.database, this.fileKey, this.processes.read(now), now);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.open = false;
    const subscriptions = [...this.subscriptions];
    for (const s of subscriptions) s.stop();
    // Let claims and settles already queued commit, and their callers take what they claimed,
    // so the leases below cover everything this process holds.
    // A barrier: if it fails, the writes queued before it failed too, and their callers got the error.
    await this.writer.submit(writesNothing).catch((err: unknown) => this.context.log.debug({ err }, "sqlite: the close barrier write failed"));
    await new Promise<void>((resolve) => setImmediate(resolve));
    const held = subscriptions.flatMap((s) => s.heldDeliveries()).filter((d) => d.status !== "settled");
    // Unsettled deliveries go back to their queues at once instead of waiting out their leases.
    if (held.length > 0) {
      void this.queue.release(held).catch((err: unknown) => this.context.log.warn({ err, count: held.length }, "sqlite: releasing held deliveries at close failed; they come back when their leases run out"));
    }
    for (const s of subscriptions) {
      if (!s.settings.temporary) continue;
      // Left behind, the consumer registry sweeps the group once it has been abandoned long enough.
      void this.queue.dropTemporaryGroup(s.settings.group).catch((err: unknown) => this.context.log.warn({ err, group: s.settings.group }, "sqlite: dropping a temporary group at close failed; it is swept later"));
    }
    this.consumers.close();
    this.processes.close();
    this.writer.drainAndClose();
    this.subscriptions.clear();
    releaseChannel(this.fileKey, this.channel);
    this.database.close();
  }

  private assertOpen(): void {
    if (!this.open) throw new ClosedError("sqlite transport is closed");
  }
}

function checkGroup(group: string): void {
  if (typeof group !== "string" || group === "") throw new ConfigurationError("sqlite transport: a consumer group needs a non-empty name");
}

function checkTopics(topics: readonly string[]): void {
  if (!Array.isArray(topics) || topics.some((t) => typeof t !== "string" || t === "")) {
    throw new ConfigurationError("sqlite transport: topics must be non-empty strings");
  }
}

/** An op that writes nothing: its transaction still takes the write lock and commits (a ping, the close barrier). */
function writesNothing(): void {}

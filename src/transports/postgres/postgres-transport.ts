/**
 * The PostgreSQL transport: the queue in the database the service already
 * has. See docs/transports/postgres.md.
 */
import pg from "pg";
import type { Pool } from "pg";
import { ClosedError, ConfigurationError } from "../../errors.js";
import { PRIORITY_LEVELS } from "../../envelope/expiry-priority.js";
import type { BrokerPing, DurabilityReporting, KeyBacklog, KeyBacklogInspection, NativeDeadLetters, QueueInspection, ServiceReporting } from "../../transport/abilities.js";
import type { ServiceReport } from "../../transport/service-report.js";
import { readKeyBacklog } from "./key-backlog.js";
import { PgServiceReports } from "./service-reports.js";
import { ContextSlot } from "../../transport/context.js";
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
import { AckBatcher } from "./ack-batcher.js";
import { CommitWake } from "./commit-wake.js";
import { QueueVacuum } from "./vacuum.js";
import { PgConsumers } from "./consumers.js";
import { PgDeadLetterStore } from "./dead-letter-store.js";
import { readDurability } from "./durability.js";
import { NotifyListener } from "./listener.js";
import { parsePostgresUrl, resolvePostgresOptions, type PostgresTransportOptions, type ResolvedPostgresOptions } from "./options.js";
import { QueueStore } from "./queue-store.js";
import { pgTableNames, pgTransportSchema, type PgTableNames } from "./schema.js";
import { migrateTransportSchema } from "./schema-migration.js";
import { readStats } from "./stats.js";
import { PgSubscription } from "./subscription.js";
import { query } from "./tx.js";
import { statementRunner, type PgTransaction } from "./tx-handle.js";
import { WakeChannel } from "./wake.js";

/** A Transport on PostgreSQL, with the pool so handlers and publishers can share its transactions. */
export interface PostgresTransport extends Transport, NativeDeadLetters, QueueInspection, DurabilityReporting, BrokerPing, ServiceReporting, KeyBacklogInspection {
  /** The node-postgres pool the transport queries through (yours when you passed `pool`). */
  readonly pool: Pool;
  readonly deadLetters: DeadLetterStore;
  /** The table prefix in use (`missive_` by default). */
  readonly tablePrefix: string;
  /** The tables, functions and NOTIFY channel names for this prefix. */
  readonly tables: PgTableNames;
  /**
   * Publish inside your own open transaction (BEGIN already run, COMMIT yours): a node-postgres client, a
   * Kysely transaction on a PostgresDialect, or `kyselyTx(trx)`. The messages are visible to consumers when,
   * and only if, it commits. No outbox, no relay. Per-message results as `publish`.
   */
  publishIn(tx: PgTransaction, batch: readonly OutgoingMessage[]): Promise<PublishResult[]>;
  /** Create the tables now (idempotent) when `migrate` allows, else check they exist; `connect` does it too. */
  prepareTables(): Promise<void>;
}

/** A transport for `options` or a `postgres://` URL (not connected: `connect` creates the tables when allowed). */
export function postgresTransport(options: PostgresTransportOptions | string): PostgresTransport {
  return new PostgresTransportImpl(resolvePostgresOptions(typeof options === "string" ? parsePostgresUrl(options) : options));
}

class PostgresTransportImpl implements PostgresTransport {
  readonly name = "postgresql";
  readonly capabilities: TransportCapabilities;
  readonly pool: Pool;
  readonly tablePrefix: string;
  readonly tables: PgTableNames;
  readonly deadLetters: PgDeadLetterStore;
  private readonly ownPool: boolean;
  private readonly channel = new WakeChannel();
  private readonly queue: QueueStore;
  private readonly acks: AckBatcher;
  private readonly consumers: PgConsumers;
  private readonly reports: PgServiceReports;
  private readonly listener: NotifyListener | undefined;
  private readonly commitWake: CommitWake | undefined;
  private readonly subscriptions = new Set<PgSubscription>();
  private readonly context = new ContextSlot();
  private opening: Promise<void> | undefined;
  private open = true;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: ResolvedPostgresOptions) {
    this.tablePrefix = options.tablePrefix;
    this.tables = pgTableNames(options.tablePrefix);
    this.capabilities = Object.freeze({ nativeDelay: true, ordering: "key", maxMessageBytes: options.maxMessageBytes, priorities: PRIORITY_LEVELS });
    this.ownPool = options.pool === undefined;
    // A statement or connect into a blackholed network must fail in bounded time (the ROLLBACK after it too, so
    // inTransaction drops the connection); keepAlive lets the kernel notice a dead peer on an idle one.
    this.pool =
      options.pool ??
      new pg.Pool({ connectionString: options.connectionString, max: options.poolMax, connectionTimeoutMillis: 10_000, query_timeout: options.queryTimeoutMs, keepAlive: true });
    // An idle pooled client's error (the server restarted): the pool drops it; the next query fails or reconnects on its own.
    if (this.ownPool) {
      this.pool.on("error", (err) => this.context.log.warn({ err }, "postgres transport: an idle pooled connection failed; the pool replaces it"));
      // A server that dies or ends a session sends its FATAL (57P01) to every connection, and pg emits it as an
      // 'error' on a client with no query running. The pool's own listener is off while a client is checked out
      // and while one is being ended, so in those moments the process crashed (seen in CI as an uncaught error
      // in the PostgreSQL restart test). Every client of the transport's pool keeps a listener for its life;
      // queries on it still fail with the error and their callers drop the connection.
      this.pool.on("connect", (client) => {
        client.on("error", (err) => this.context.log.debug({ err }, "postgres transport: a pooled connection failed; the statement on it fails and the pool drops it"));
      });
    }
    const announce = (groups: Iterable<string>): void => this.channel.signal(groups);
    this.commitWake = options.notify ? new CommitWake(this.pool, this.tables.channel, announce, this.context, `missive_wake_${options.tablePrefix}`) : undefined;
    const commitWake = this.commitWake;
    this.queue = new QueueStore(this.pool, options.tablePrefix, options.maxMessageBytes, options.notify, announce, commitWake && ((xid, groups) => commitWake.watch(xid, groups)));
    const vacuum = new QueueVacuum(this.pool, this.tables.queue, options.vacuumEvery, this.context);
    this.acks = new AckBatcher(this.queue, (rows) => vacuum.deletedRows(rows));
    this.deadLetters = new PgDeadLetterStore(this.pool, this.tables, async (groups) => {
      const list = [...groups];
      if (list.length === 0) return;
      if (options.notify) await query(this.pool, "waking consumers", "SELECT pg_notify($1, g) FROM unnest($2::text[]) AS g", [this.tables.channel, list]);
      this.channel.signal(list);
    });
    this.consumers = new PgConsumers(this.pool, this.tables, this.context);
    this.reports = new PgServiceReports(this.pool, this.tables);
    const target: pg.ClientConfig =
      options.listenConnectionString !== undefined ? { connectionString: options.listenConnectionString }
      : options.connectionString !== undefined ? { connectionString: options.connectionString }
      // node-postgres keeps the options a Pool was made with: the LISTEN client connects the same way.
      : ((this.pool as unknown as { options?: pg.ClientConfig }).options ?? {});
    // A connect that hangs (a blackholed path) must fail in time for the next check to try again.
    const listenConfig: pg.ClientConfig = { ...target, connectionTimeoutMillis: options.listenCheckMs };
    this.listener = options.notify ? new NotifyListener(listenConfig, this.tables.channel, this.channel, this.context, options.listenCheckMs) : undefined;
  }

  async connect(context?: TransportContext): Promise<void> {
    this.assertOpen();
    this.context.use(context);
    await this.ready();
  }

  prepareTables(): Promise<void> {
    this.assertOpen();
    return this.ready();
  }

  /** The tables exist (created when allowed) and the server answers; once per transport, again after a failure. */
  private ready(): Promise<void> {
    this.opening ??= this.prepare().catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async prepare(): Promise<void> {
    if (this.options.migrate) await migrateTransportSchema(this.pool, this.tables.meta, pgTransportSchema(this.tablePrefix));
    else await query(this.pool, "checking the queue table", `SELECT 1 FROM ${this.tables.queue} LIMIT 0`);
    // Without LISTEN consumers still poll, so a failure here is logged by the listener, not thrown.
    if (this.listener) await this.listener.start();
  }

  async bind(group: string, topics: readonly string[]): Promise<void> {
    this.assertOpen();
    checkGroup(group);
    checkTopics(topics);
    await this.ready();
    await this.queue.bind(group, topics, false);
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    this.assertOpen();
    if (batch.length === 0) return [];
    await this.ready();
    return this.queue.publish(batch);
  }

  async publishIn(tx: PgTransaction, batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    this.assertOpen();
    const run = await statementRunner(tx);
    if (batch.length === 0) return [];
    await this.ready();
    return this.queue.publishIn(run, batch);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    checkGroup(options.group);
    checkTopics(options.topics);
    if (!Number.isSafeInteger(options.prefetch) || options.prefetch < 1) {
      throw new ConfigurationError(`postgres transport: prefetch must be an integer >= 1, got ${String(options.prefetch)}`);
    }
    if (!Number.isFinite(options.leaseMs) || options.leaseMs < 1) {
      throw new ConfigurationError(`postgres transport: leaseMs must be a positive number of ms, got ${String(options.leaseMs)}`);
    }
    const temporary = options.temporary === true;
    await this.ready();
    await this.queue.bind(options.group, options.topics, temporary);
    const consumerId = await this.consumers.register(options.group);
    const { pollMinMs, pollMaxMs } = this.options;
    const subscription = new PgSubscription(
      {
        queue: this.queue,
        acks: this.acks,
        pool: this.pool,
        channel: this.channel,
        // With LISTEN up, polling is only the safety net; without it, poll fast and back off while idle.
        pollMs: (idle) => (this.listener?.healthy === true ? pollMaxMs : Math.min(pollMaxMs, pollMinMs * 2 ** Math.min(idle, 20))),
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
    await this.ready();
    return readStats(this.pool, this.tables);
  }

  async keyBacklog(limit: number): Promise<KeyBacklog[]> {
    this.assertOpen();
    await this.ready();
    return readKeyBacklog(this.pool, this.tables, limit);
  }

  async writeReport(report: ServiceReport): Promise<void> {
    this.assertOpen();
    await this.reports.write(report);
  }

  async readReports(sinceMs: number): Promise<ServiceReport[]> {
    this.assertOpen();
    return this.reports.read(sinceMs);
  }

  /** `SELECT 1` on the pool: a connection can be had and the server answers, as a publish needs. */
  async ping(): Promise<void> {
    this.assertOpen();
    await query(this.pool, "ping", "SELECT 1");
  }

  async durability(): Promise<DurabilityReport> {
    this.assertOpen();
    return readDurability(this.pool);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.open = false;
    const subscriptions = [...this.subscriptions];
    for (const s of subscriptions) s.stop();
    const held = subscriptions.flatMap((s) => s.heldDeliveries()).filter((d) => d.status === "held");
    // Unsettled deliveries go back to their queues at once instead of waiting out their leases.
    if (held.length > 0) {
      await this.queue.release(held).catch((err: unknown) => this.context.log.warn({ err, count: held.length }, "postgres: releasing held deliveries at close failed; they come back when their leases run out"));
    }
    for (const s of subscriptions) {
      if (!s.settings.temporary) continue;
      await this.queue.dropTemporaryGroup(s.settings.group).catch((err: unknown) => this.context.log.warn({ err, group: s.settings.group }, "postgres: dropping a temporary group at close failed"));
    }
    this.commitWake?.stop();
    await this.consumers.close();
    await this.listener?.stop();
    this.subscriptions.clear();
    if (this.ownPool) await this.pool.end().catch((err: unknown) => this.context.log.debug({ err }, "postgres: ending the pool failed"));
  }

  private assertOpen(): void {
    if (!this.open) throw new ClosedError("postgres transport is closed");
  }
}

function checkGroup(group: string): void {
  if (typeof group !== "string" || group === "") throw new ConfigurationError("postgres transport: a consumer group needs a non-empty name");
}

function checkTopics(topics: readonly string[]): void {
  if (!Array.isArray(topics) || topics.some((t) => typeof t !== "string" || t === "")) {
    throw new ConfigurationError("postgres transport: topics must be non-empty strings");
  }
}

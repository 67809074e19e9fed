/**
 * The Redis Streams transport (ADR 011, docs/transports/redis.md): a stream
 * per topic and one per group, a consumer group per missive group, XADD's
 * reply as the confirm, leases as pending-entry idle time, dead letters in
 * a stream of their own, key order across the consumers of an ordered group
 * (key-heads.ts). No native delay: the runtime fills it in.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { AuthenticationError, ClosedError, ConnectionError } from "../../errors.js";
import type { BrokerPing, DurabilityReporting, NativeDeadLetters, QueueInspection, ServiceReporting, TopologyDeclaration } from "../../transport/abilities.js";
import { ContextSlot, reasonOf } from "../../transport/context.js";
import type { ServiceReport } from "../../transport/service-report.js";
import type {
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
import { RedisDeadLetterStore } from "./dead-letter-store.js";
import { readRedisDurability } from "./durability.js";
import { redisNames, type RedisNames } from "./names.js";
import { redactRedisUrl, resolveRedisOptions, type RedisTransportOptions, type ResolvedRedisOptions } from "./options.js";
import { publishBatch, REDIS_PUBLISH_BATCH } from "./publisher.js";
import { withScripts, type ScriptedRedis } from "./scripts.js";
import { RedisServiceReports } from "./service-reports.js";
import { readRedisStats } from "./stats.js";
import { RedisSubscription } from "./subscription.js";
import { Topology } from "./topology.js";

/** Reconnect attempts a command waits through before it fails (the producer then retries or spools). */
const COMMAND_RETRIES = 3;

export interface RedisTransport extends Transport, NativeDeadLetters, QueueInspection, DurabilityReporting, BrokerPing, TopologyDeclaration, ServiceReporting {
  readonly deadLetters: RedisDeadLetterStore;
  /** The prefix of missive's keys on this server. */
  readonly prefix: string;
  /** Drop every connection with nothing settled or given back, as SIGKILL would (tests of crash redelivery). */
  kill(): Promise<void>;
  /** Stop renewing and let every lease run out now while staying up, as a stalled process would (tests of lease loss). */
  expireLeases(): Promise<void>;
}

/** A transport for a `redis://` / `rediss://` URL or options; it connects on `connect()`. */
export function redisTransport(options: RedisTransportOptions): RedisTransport {
  return new RedisTransportImpl(resolveRedisOptions(options));
}

interface Link {
  readonly redis: ScriptedRedis;
  readonly topology: Topology;
}

class RedisTransportImpl implements RedisTransport {
  readonly name = "redis";
  readonly capabilities: TransportCapabilities;
  readonly prefix: string;
  readonly deadLetters: RedisDeadLetterStore;
  private readonly names: RedisNames;
  private readonly reports: RedisServiceReports;
  private readonly context = new ContextSlot();
  private readonly subscriptions = new Set<RedisSubscription>();
  private linking: Promise<Link> | undefined;
  private open = true;
  /** live: false once closed or killed (deliveries' settles then reject with LeaseLostError); drops: how often the command connection closed. */
  readonly connection = { live: true, drops: 0 };

  constructor(private readonly options: ResolvedRedisOptions) {
    this.prefix = options.prefix;
    this.names = redisNames(options.prefix);
    this.deadLetters = new RedisDeadLetterStore(async () => (await this.link()).redis, this.names);
    this.reports = new RedisServiceReports(async () => (await this.link()).redis, this.names);
    this.capabilities = Object.freeze({
      nativeDelay: false,
      ordering: "key",
      maxMessageBytes: options.maxMessageBytes,
      attempts: "exact",
      leaseRenewal: "transport",
      publishBatch: REDIS_PUBLISH_BATCH,
    });
  }

  async connect(context?: TransportContext): Promise<void> {
    this.context.use(context);
    await this.link();
  }

  async bind(group: string, topics: readonly string[]): Promise<void> {
    await (await this.link()).topology.bind(group, topics);
  }

  /** `missive topology`: the group's streams and consumer groups, made even when `create` is off. */
  async declareTopology(group: string, topics: readonly string[]): Promise<void> {
    await (await this.link()).topology.bind(group, topics, { force: true });
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const { redis } = await this.link();
    return publishBatch(redis, this.names, batch, this.options.maxMessageBytes);
  }

  async subscribe(o: SubscribeOptions): Promise<Subscription> {
    const { redis, topology } = await this.link();
    const topics = [...new Set(o.topics)];
    const temporary = o.temporary === true;
    await topology.bind(o.group, topics, { temporary });
    const reader = redis.duplicate({
      lazyConnect: true,
      // Named after its prefix and group, so CLIENT LIST tells an operator (and a test) whose blocked read it is.
      connectionName: readerConnectionName(this.prefix, o.group),
      // A blocking read has no command timeout (it would kill a long BLOCK), is never re-sent after a
      // reconnect (its reply could never come: the hang users hit), and fails at once when the link drops.
      commandTimeout: undefined,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: false,
    });
    reader.on("error", (err: unknown) => this.context.log.debug({ err, group: o.group }, "redis: reader connection error"));
    await reader.connect().catch(async (err: unknown) => {
      reader.disconnect();
      throw new ConnectionError(`redis: cannot open a reader connection: ${reasonOf(err)}`, { cause: err });
    });
    const sub: RedisSubscription = new RedisSubscription(
      [{ stream: this.names.groupStream(o.group), topic: undefined }, ...topics.map((topic) => ({ stream: this.names.topicStream(topic), topic }))],
      {
        redis,
        reader,
        deadLetters: this.deadLetters,
        connection: this.connection,
        context: this.context,
        rebind: () => topology.bind(o.group, topics, { temporary }),
        closed: async (closed) => {
          this.subscriptions.delete(closed);
          if (temporary && this.connection.live) await topology.unbind(o.group, topics);
        },
      },
      {
        group: o.group,
        consumer: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        prefetch: o.prefetch,
        leaseMs: o.leaseMs,
        trimIntervalMs: this.options.trimIntervalMs,
        readGraceMs: this.options.commandTimeoutMs,
        ordered: o.ordered,
        keyLists: this.names.keyLists(o.group),
        starts: this.names.starts(o.group),
      },
    );
    this.subscriptions.add(sub);
    return sub;
  }

  async stats(): Promise<QueueStats[]> {
    return readRedisStats((await this.link()).redis, this.names, this.deadLetters);
  }

  async writeReport(report: ServiceReport): Promise<void> {
    await this.reports.write(report);
  }

  async readReports(sinceMs: number): Promise<ServiceReport[]> {
    return this.reports.read(sinceMs);
  }

  async durability(): Promise<DurabilityReport> {
    return readRedisDurability((await this.link()).redis);
  }

  /** PING on the command connection: the server answers. */
  async ping(): Promise<void> {
    const { redis } = await this.link();
    try {
      await redis.ping();
    } catch (err) {
      throw new ConnectionError(`redis: the server did not answer a ping: ${reasonOf(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const linking = this.linking;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.connection.live = false;
    for (const s of this.subscriptions) s.stop();
    if (linking === undefined) return;
    try {
      await (await linking).redis.quit();
    } catch (err) {
      this.context.log.debug({ err }, "redis: closing a connection that never opened or already failed");
    }
  }

  async expireLeases(): Promise<void> {
    for (const s of this.subscriptions) await s.stall();
  }

  async kill(): Promise<void> {
    this.open = false;
    this.connection.live = false;
    for (const s of this.subscriptions) s.stop();
    const linking = this.linking;
    if (linking === undefined) return;
    try {
      (await linking).redis.disconnect();
    } catch (err) {
      this.context.log.debug({ err }, "redis: killing a connection that never opened");
    }
  }

  private link(): Promise<Link> {
    if (!this.open) return Promise.reject(new ClosedError("redis: the transport is closed"));
    this.linking ??= this.dial().catch((err: unknown) => {
      this.linking = undefined;
      throw err;
    });
    return this.linking;
  }

  private async dial(): Promise<Link> {
    const redis = withScripts(new Redis(this.options.url, {
      lazyConnect: true,
      connectionName: "missive",
      commandTimeout: this.options.commandTimeoutMs,
      maxRetriesPerRequest: COMMAND_RETRIES,
      // Off: ioredis 5.11's auto-pipelining sends callBuffer() with the wrong command name (XAUTOCLAIM came out as its first argument).
      enableAutoPipelining: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    }));
    let up = false;
    redis.on("error", (err: unknown) => this.context.log.debug({ err }, "redis: connection error"));
    redis.on("ready", () => {
      if (up) return;
      up = true;
      this.context.report({ kind: "connection", state: "up" });
    });
    redis.on("close", () => {
      this.connection.drops++;
      if (!up) return;
      up = false;
      if (this.open) this.context.report({ kind: "connection", state: "down", reason: "the connection to the server closed" });
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      const reason = reasonOf(err);
      if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(reason)) {
        throw new AuthenticationError(`redis: the server refused the credentials: ${reason}`, { cause: err });
      }
      throw new ConnectionError(`redis: cannot connect to ${redactRedisUrl(this.options.url)}: ${reason}`, { cause: err });
    }
    return { redis, topology: new Topology(redis, this.names, this.options.create) };
  }
}

/** A reader connection's CLIENT SETNAME: `missive-reader:<prefix><group>`; Redis takes only `!` to `~` in a name, so anything else is `_`. */
export function readerConnectionName(prefix: string, group: string): string {
  return `missive-reader:${prefix}${group}`.replace(/[^\x21-\x7e]/g, "_");
}

/**
 * Options of the RabbitMQ transport, and the one function that applies their
 * defaults and validates them (STYLE.md §7).
 */
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { ConfigurationError } from "../../errors.js";
import { checkPartitions } from "./partition-names.js";

export type RabbitmqQueueType = "quorum" | "classic";

export interface RabbitmqTransportOptions {
  /** `amqp://user:pass@host:port/vhost` or `amqps://…`. Query parameters (`heartbeat`, `frameMax`) pass to amqplib. */
  readonly url: string;
  /**
   * Further nodes of the same cluster (`amqp://…` URLs, same credentials and
   * vhost as a rule). A connection attempt tries `url` and these in turn, and
   * after a lost connection the next node is tried first, so the transport
   * reaches a surviving node when the one it used dies. Default none.
   */
  readonly failoverUrls?: readonly string[];
  /** Type of every queue missive declares (group queues, dead-letter queues, delay levels). Default `quorum`. */
  readonly queueType?: RabbitmqQueueType;
  /**
   * Native message priority: group queues are declared with
   * `x-max-priority: 9` and unkeyed messages carry their priority (keyed
   * ones do not: the broker would let them overtake earlier messages of
   * their key). Needs `queueType: "classic"` (quorum queues have no
   * priorities). RabbitMQ cannot add the argument to an existing queue:
   * turning this on for existing groups means declaring them again.
   * Default `false`: the runtime orders what each consumer holds instead.
   */
  readonly priorities?: boolean;
  /**
   * Declare the topology (exchanges, queues, bindings) on demand. Default `true`.
   * `false`: only check (passively) that what is needed exists, for services run
   * with least-privilege users after `missive topology` declared it.
   */
  readonly declare?: boolean;
  /** Most publishes awaiting a broker confirm at once, per transport. Default 1000. */
  readonly publishWindow?: number;
  /** A publish not confirmed within this is retried (same message id), ms. Default 10,000. */
  readonly confirmTimeoutMs?: number;
  /** While the broker blocks publishing (memory or disk alarm), a publish waits this long, then fails with ConnectionError, ms. Default 30,000. */
  readonly blockedTimeoutMs?: number;
  /** Reconnect backoff: the first delay cap and the largest delay, ms (full jitter). Defaults 100 and 10,000. */
  readonly reconnectBaseMs?: number;
  readonly reconnectMaxMs?: number;
  /** AMQP heartbeat, seconds (a dead peer is noticed within about twice this). Default 10. */
  readonly heartbeatSeconds?: number;
  /** A connection attempt (TCP, TLS, the AMQP handshake) silent for this long gives up, ms: bounds a reconnect into a blackholed network. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** TLS settings for `amqps://` (ca, cert, key, passphrase, servername, …), passed to Node's tls.connect. */
  readonly tls?: TlsOptions;
  /** Name shown for the connection in RabbitMQ's tools. Default `missive`. */
  readonly connectionName?: string;
  /**
   * Partitions of every ordered group (`ordered: true`): a power of two, 1 to 256. Default 16.
   * Key order holds across processes; at most this many processes of one ordered group do work at
   * once. Fixed once the group's partitions exist: a consumer asking for another number is refused
   * with a ConfigurationError (docs/transports/rabbitmq.md, "Ordered groups", for the migration).
   */
  readonly partitions?: number;
}

export interface ResolvedRabbitmqOptions {
  readonly url: string;
  /** `url` first, then `failoverUrls`: every node a connection attempt may try. */
  readonly urls: readonly string[];
  readonly queueType: RabbitmqQueueType;
  readonly priorities: boolean;
  readonly declare: boolean;
  readonly publishWindow: number;
  readonly confirmTimeoutMs: number;
  readonly blockedTimeoutMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly tls: TlsOptions | undefined;
  readonly connectionName: string;
  readonly partitions: number;
}

export const RABBITMQ_DEFAULTS = Object.freeze({
  queueType: "quorum" as RabbitmqQueueType,
  priorities: false,
  declare: true,
  publishWindow: 1000,
  confirmTimeoutMs: 10_000,
  blockedTimeoutMs: 30_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 10_000,
  heartbeatSeconds: 10,
  connectTimeoutMs: 10_000,
  connectionName: "missive",
  partitions: 16,
});

export function resolveRabbitmqOptions(options: RabbitmqTransportOptions): ResolvedRabbitmqOptions {
  if (options === null || typeof options !== "object") throw new ConfigurationError("rabbitmq transport: options must be an object or an amqp:// URL");
  const { url } = options;
  checkUrl("url", url);
  const failoverUrls = options.failoverUrls ?? [];
  if (!Array.isArray(failoverUrls)) throw new ConfigurationError("rabbitmq transport: `failoverUrls` must be an array of amqp:// or amqps:// URLs");
  failoverUrls.forEach((u: unknown, i) => checkUrl(`failoverUrls[${i}]`, u));
  const queueType = options.queueType ?? RABBITMQ_DEFAULTS.queueType;
  if (queueType !== "quorum" && queueType !== "classic") {
    throw new ConfigurationError(`rabbitmq transport: \`queueType\` must be "quorum" or "classic", got ${JSON.stringify(queueType)}`);
  }
  const priorities = options.priorities ?? RABBITMQ_DEFAULTS.priorities;
  if (typeof priorities !== "boolean") throw new ConfigurationError("rabbitmq transport: `priorities` must be a boolean");
  if (priorities && queueType !== "classic") throw new ConfigurationError('rabbitmq transport: `priorities` needs `queueType: "classic"` (quorum queues have no message priorities)');
  if (options.declare !== undefined && typeof options.declare !== "boolean") throw new ConfigurationError("rabbitmq transport: `declare` must be a boolean");
  if (options.tls !== undefined && (options.tls === null || typeof options.tls !== "object")) throw new ConfigurationError("rabbitmq transport: `tls` must be an object");
  const connectionName = options.connectionName ?? RABBITMQ_DEFAULTS.connectionName;
  if (typeof connectionName !== "string" || connectionName.length > 200) throw new ConfigurationError("rabbitmq transport: `connectionName` must be a string of at most 200 characters");
  const reconnectBaseMs = integer("reconnectBaseMs", options.reconnectBaseMs, RABBITMQ_DEFAULTS.reconnectBaseMs, 1);
  const reconnectMaxMs = integer("reconnectMaxMs", options.reconnectMaxMs, Math.max(RABBITMQ_DEFAULTS.reconnectMaxMs, reconnectBaseMs), 1);
  if (reconnectMaxMs < reconnectBaseMs) throw new ConfigurationError("rabbitmq transport: `reconnectMaxMs` is below `reconnectBaseMs`");
  return Object.freeze({
    url,
    urls: Object.freeze([url, ...failoverUrls]),
    queueType,
    priorities,
    declare: options.declare ?? RABBITMQ_DEFAULTS.declare,
    publishWindow: integer("publishWindow", options.publishWindow, RABBITMQ_DEFAULTS.publishWindow, 1),
    confirmTimeoutMs: integer("confirmTimeoutMs", options.confirmTimeoutMs, RABBITMQ_DEFAULTS.confirmTimeoutMs, 1),
    blockedTimeoutMs: integer("blockedTimeoutMs", options.blockedTimeoutMs, RABBITMQ_DEFAULTS.blockedTimeoutMs, 0),
    reconnectBaseMs,
    reconnectMaxMs,
    heartbeatSeconds: integer("heartbeatSeconds", options.heartbeatSeconds, RABBITMQ_DEFAULTS.heartbeatSeconds, 0),
    connectTimeoutMs: integer("connectTimeoutMs", options.connectTimeoutMs, RABBITMQ_DEFAULTS.connectTimeoutMs, 1),
    tls: options.tls,
    connectionName,
    partitions: checkPartitions(options.partitions ?? RABBITMQ_DEFAULTS.partitions),
  });
}

function checkUrl(name: string, url: unknown): asserts url is string {
  if (typeof url !== "string" || !/^amqps?:\/\//i.test(url)) throw new ConfigurationError(`rabbitmq transport: \`${name}\` must be an amqp:// or amqps:// URL`);
  try {
    new URL(url);
  } catch {
    throw new ConfigurationError(`rabbitmq transport: \`${name}\` is not a valid URL`);
  }
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigurationError(`rabbitmq transport: \`${name}\` must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

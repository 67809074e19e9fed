import { ConfigurationError } from "../errors.js";
import type { ContentMode } from "../envelope/codec.js";
import { DEFAULT_LIMITS, type SizeLimits } from "../envelope/limits.js";
import { noopLogger, type Logger } from "../observability/logger.js";
import { checkDeadLetterDatabase, type DeadLetterDatabase } from "../stores/dead-letters.js";
import { checkInboxStore, type InboxStore } from "../stores/inbox.js";
import type { Transport } from "../transport/transport.js";
import type { Random } from "./backoff.js";
import { toMs, type Duration } from "./duration.js";
import type { InboxWord } from "./inbox-handles.js";
import type { BreakerOptions } from "./circuit-breaker.js";
import type { ProducerSettings, SpoolSettings } from "./producer-settings.js";
import { SPOOL_DEFAULTS } from "./spool.js";
import { rateLimitSettings, type RateLimitOptions } from "./token-bucket.js";

export interface PublisherOptions {
  /** Reject a publish not confirmed within this (retrying meanwhile). Default `"30s"`. */
  readonly timeout?: Duration;
  /**
   * Most messages in one transport batch. Default: the transport's preferred batch
   * (`capabilities.publishBatch`: 128 on Redis), else 512.
   */
  readonly maxBatch?: number;
  /**
   * Batches awaiting broker confirms at once. Default 2. Without a spool, a retried batch can land behind a
   * later batch of the same key confirmed meanwhile; 1 keeps each key's order through failures (docs/producer.md).
   */
  readonly maxInFlightBatches?: number;
  /** First retry backoff cap after a failed batch. Default `"50ms"`. */
  readonly retryBase?: Duration;
  /** Largest retry backoff. Default `"5s"`. */
  readonly retryMax?: Duration;
  /**
   * The outage bound: a batch not confirmed within this means the broker is
   * down (a status event; with a spool, its messages are spooled). Keep it
   * above the broker's usual confirm latency. Default `"5s"`.
   */
  readonly outageAfter?: Duration;
  /**
   * The producer's circuit breaker: after `threshold` failed publishes in a
   * row (or one outage) it stops sending, then probes with backoff and
   * jitter; a confirmed probe closes it. `false` disables it. Default
   * threshold 3, cool-down 500 ms doubling to 5 s (a probe is one message:
   * probing a dead broker every few seconds costs it nothing, and the flush
   * starts within seconds of its return).
   */
  readonly breaker?: Partial<BreakerOptions> | false;
  /** Most publishes per second (token bucket), spool flushes included. Default: none. */
  readonly rateLimit?: RateLimitOptions;
  /**
   * A durable local spool (a SQLite file, `synchronous = FULL`) for what the
   * broker cannot confirm in time: the publish resolves `{ outcome:
   * "spooled" }` and the message is flushed, in order and under its id, when
   * the broker is back, by this process or the next one. A path, or options.
   * Default: none (an unconfirmed publish retries until `timeout`, then rejects).
   */
  readonly spool?: string | SpoolOptions;
}

export interface SpoolOptions {
  /** The spool file, one per service instance; created when missing. */
  readonly path: string;
  /** Most messages it holds. Default 100 000. */
  readonly maxMessages?: number;
  /** Most bytes (headers + bodies) it holds. Default 256 MiB. */
  readonly maxBytes?: number;
  /** When full: `"wait"` for room (backpressure, up to `timeout`, then SpoolFullError) or `"reject"` at once with SpoolFullError. Default `"wait"`. */
  readonly whenFull?: "wait" | "reject";
  /** The flush lease (one flushing process per file); a holder that stops renewing it loses it after this. Default `"30s"`. */
  readonly lease?: Duration;
  /** Most messages per flush batch. Default 512. */
  readonly flushBatch?: number;
}

/** `TInbox`: the handle of the bus's inbox, what `ctx.transaction` hands a handler with `idempotency: "inbox"`. */
export interface BusOptions<TInbox = unknown> {
  /**
   * A transport URL (`sqlite://./missive.db`, `amqp://…`, `memory://name`) or a transport object. A URL brings
   * the transport's own inbox when it keeps one (SQLite, memory); a transport object brings none.
   */
  readonly transport: string | Transport;
  /** This service's name: the CloudEvents `source` of what it publishes. */
  readonly service: string;
  /**
   * The inbox used by `idempotency: "inbox"` (`postgresInbox({ pool })`, `mysqlInbox`, `sqliteInboxStore`
   * from `missive/stores/*`); its handle types `ctx.transaction`. Its table is checked when the bus is
   * created: a missing one fails `missive()` with the migration to run. Default: the transport's own inbox,
   * when it keeps one (SQLite's file); RabbitMQ keeps none.
   */
  readonly inbox?: InboxStore<TInbox>;
  /**
   * The default of every consumer's `idempotency`. `"inbox"` on a bus with no inbox (no `inbox` option and a
   * transport without one of its own) fails `missive()` with the code to paste. Default `"none"`.
   */
  readonly idempotency?: "none" | InboxWord<TInbox>;
  /**
   * Keep dead letters in this database table (`sqliteDeadLetters`,
   * `postgresDeadLetters`, `mysqlDeadLetters` from `missive/stores/*`):
   * dead-lettering writes the entry there, then acks, and `deadLetters()` and
   * `missive dlq --dead-letters` work on it; replays go back through the
   * transport. It wins over the transport's own store when both exist.
   * Default: the transport's native store, or its `missive.dlq.<group>`
   * topics when it has none (docs/dead-letters.md).
   */
  readonly deadLetters?: DeadLetterDatabase;
  /** A pino-compatible logger. Default: no-op. */
  readonly logger?: Logger;
  /** Message size limits. Defaults: body 1 MiB, one header 8 KiB, all headers 64 KiB, 128 headers. */
  readonly limits?: Partial<SizeLimits>;
  /** CloudEvents content mode on the wire. Default `"binary"` (attributes in headers). */
  readonly contentMode?: ContentMode;
  readonly publisher?: PublisherOptions;
  /** Randomness for jitter; inject a seeded one in tests. Default Math.random. */
  readonly random?: Random;
  /**
   * How often this service reports what only it knows (processing times, message ages, blocked keys, its
   * spool and outbox lag; service-report.ts) through a transport that keeps reports, for the dashboard.
   * `false`: never. Default `"10s"`.
   */
  readonly reportInterval?: Duration | false;
}

export interface BusSettings {
  readonly service: string;
  readonly logger: Logger;
  readonly limits: SizeLimits;
  readonly producer: ProducerSettings;
  readonly random: Random;
  readonly deadLetters: DeadLetterDatabase | undefined;
  /** The consumers' default `idempotency`. */
  readonly idempotency: "none" | "inbox";
  /** `undefined`: no service reports. */
  readonly reportIntervalMs: number | undefined;
}

const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;

/** The one place bus defaults live. */
export function busSettings(options: BusOptions<unknown>): BusSettings {
  if (typeof options.service !== "string" || !SERVICE.test(options.service)) {
    throw new ConfigurationError(`service ${JSON.stringify(options.service)} must be a short name (letters, digits, . _ : / @ -)`);
  }
  const limits: SizeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigurationError(`limits.${name} must be a positive integer`);
  }
  const p = options.publisher ?? {};
  const mode = options.contentMode ?? "binary";
  if (mode !== "binary" && mode !== "structured") throw new ConfigurationError(`contentMode must be "binary" or "structured"`);
  const idempotency = options.idempotency ?? "none";
  if (idempotency !== "none" && idempotency !== "inbox") throw new ConfigurationError(`idempotency must be "none" or "inbox" (a store goes in \`inbox\`)`);
  if (options.inbox !== undefined) checkInboxStore(options.inbox);
  return {
    service: options.service,
    logger: options.logger ?? noopLogger,
    limits,
    random: options.random ?? Math.random,
    deadLetters: options.deadLetters === undefined ? undefined : checkDeadLetterDatabase(options.deadLetters, "deadLetters"),
    idempotency,
    reportIntervalMs: reportInterval(options.reportInterval),
    producer: {
      source: options.service,
      mode,
      limits,
      // Unset: the producer takes the transport's preference (maxBatchFor), known only once the transport is.
      maxBatch: p.maxBatch === undefined ? undefined : positiveInteger(p.maxBatch, "publisher.maxBatch"),
      maxInFlightBatches: p.maxInFlightBatches ?? 2,
      publishTimeoutMs: toMs(p.timeout ?? "30s", "publisher.timeout"),
      retryBaseMs: toMs(p.retryBase ?? "50ms", "publisher.retryBase"),
      retryMaxMs: toMs(p.retryMax ?? "5s", "publisher.retryMax"),
      outageAfterMs: positive(toMs(p.outageAfter ?? "5s", "publisher.outageAfter"), "publisher.outageAfter"),
      breaker: p.breaker === false
        ? { threshold: 0, cooldownMs: 500, maxCooldownMs: 5000 }
        : { threshold: p.breaker?.threshold ?? 3, cooldownMs: p.breaker?.cooldownMs ?? 500, maxCooldownMs: p.breaker?.maxCooldownMs ?? 5000 },
      rateLimit: p.rateLimit === undefined ? undefined : rateLimitSettings(p.rateLimit, "publisher.rateLimit"),
      spool: p.spool === undefined ? undefined : spoolSettings(p.spool),
    },
  };
}

function reportInterval(option: Duration | false | undefined): number | undefined {
  if (option === false) return undefined;
  const ms = toMs(option ?? "10s", "reportInterval");
  if (ms < 100 || ms > 3_600_000) throw new ConfigurationError("reportInterval must be from 100ms to 1h (or false)");
  return ms;
}

function positiveInteger(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`${what} must be a positive integer`);
  return n;
}

function positive(ms: number, what: string): number {
  if (!(ms > 0)) throw new ConfigurationError(`${what} must be longer than 0`);
  return ms;
}

function spoolSettings(option: string | SpoolOptions): SpoolSettings {
  const o: SpoolOptions = typeof option === "string" ? { path: option } : option;
  if (typeof o !== "object" || o === null || typeof o.path !== "string" || o.path === "" || o.path === ":memory:") {
    throw new ConfigurationError("publisher.spool must be a file path (or { path, ... }): the spool must outlive the process");
  }
  const whenFull = o.whenFull ?? "wait";
  if (whenFull !== "wait" && whenFull !== "reject") throw new ConfigurationError(`publisher.spool.whenFull must be "wait" or "reject"`);
  const int = (v: number | undefined, d: number, what: string): number => {
    const n = v ?? d;
    if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`publisher.spool.${what} must be a positive integer`);
    return n;
  };
  return {
    path: o.path,
    maxMessages: int(o.maxMessages, SPOOL_DEFAULTS.maxMessages, "maxMessages"),
    maxBytes: int(o.maxBytes, SPOOL_DEFAULTS.maxBytes, "maxBytes"),
    whenFull,
    leaseMs: positive(toMs(o.lease ?? "30s", "publisher.spool.lease"), "publisher.spool.lease"),
    flushBatch: int(o.flushBatch, 512, "flushBatch"),
  };
}

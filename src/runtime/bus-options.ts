import { ConfigurationError } from "../errors.js";
import type { ContentMode } from "../envelope/codec.js";
import { DEFAULT_LIMITS, type SizeLimits } from "../envelope/limits.js";
import { noopLogger, type Logger } from "../observability/logger.js";
import type { InboxStore } from "../stores/inbox.js";
import type { Transport } from "../transport/transport.js";
import type { Random } from "./backoff.js";
import { toMs, type Duration } from "./duration.js";
import type { ProducerSettings } from "./producer.js";

export interface PublisherOptions {
  /** Reject a publish not confirmed within this (retrying meanwhile). Default `"30s"`. */
  readonly timeout?: Duration;
  /** Most messages in one transport batch. Default 512. */
  readonly maxBatch?: number;
  /** Batches awaiting broker confirms at once. Default 2. */
  readonly maxInFlightBatches?: number;
  /** First retry backoff cap after a failed batch. Default `"50ms"`. */
  readonly retryBase?: Duration;
  /** Largest retry backoff. Default `"5s"`. */
  readonly retryMax?: Duration;
}

export interface BusOptions {
  /** A transport URL (`sqlite://./missive.db`, `memory://name`) or a transport object. */
  readonly transport: string | Transport;
  /** This service's name: the CloudEvents `source` of what it publishes. */
  readonly service: string;
  /** The inbox used by `idempotency: "inbox"`. Default: the transport's own, when it has one. */
  readonly inbox?: InboxStore<unknown>;
  /** A pino-compatible logger. Default: no-op. */
  readonly logger?: Logger;
  /** Message size limits. Defaults: body 1 MiB, one header 8 KiB, all headers 64 KiB, 128 headers. */
  readonly limits?: Partial<SizeLimits>;
  /** CloudEvents content mode on the wire. Default `"binary"` (attributes in headers). */
  readonly contentMode?: ContentMode;
  readonly publisher?: PublisherOptions;
  /** Randomness for jitter; inject a seeded one in tests. Default Math.random. */
  readonly random?: Random;
}

export interface BusSettings {
  readonly service: string;
  readonly logger: Logger;
  readonly limits: SizeLimits;
  readonly producer: ProducerSettings;
  readonly random: Random;
}

const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;

/** The one place bus defaults live. */
export function busSettings(options: BusOptions): BusSettings {
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
  return {
    service: options.service,
    logger: options.logger ?? noopLogger,
    limits,
    random: options.random ?? Math.random,
    producer: {
      source: options.service,
      mode,
      limits,
      maxBatch: p.maxBatch ?? 512,
      maxInFlightBatches: p.maxInFlightBatches ?? 2,
      publishTimeoutMs: toMs(p.timeout ?? "30s", "publisher.timeout"),
      retryBaseMs: toMs(p.retryBase ?? "50ms", "publisher.retryBase"),
      retryMaxMs: toMs(p.retryMax ?? "5s", "publisher.retryMax"),
    },
  };
}

/** The producer's resolved settings (from BusOptions, see bus-options.ts) and a publish's route. */
import type { ContentMode } from "../envelope/codec.js";
import type { SizeLimits } from "../envelope/limits.js";
import type { BreakerOptions } from "./circuit-breaker.js";
import type { TransportCapabilities } from "../transport/transport.js";
import type { RateLimitSettings } from "./token-bucket.js";

/** The producer's batch limit when neither the bus options nor the transport (`capabilities.publishBatch`) set one. */
export const DEFAULT_MAX_BATCH = 512;

/** The batch limit a producer on this transport uses: the explicit `publisher.maxBatch`, else the transport's preference, else the default. */
export function maxBatchFor(settings: ProducerSettings, capabilities: TransportCapabilities): number {
  return settings.maxBatch ?? capabilities.publishBatch ?? DEFAULT_MAX_BATCH;
}

export interface ProducerSettings {
  readonly source: string;
  readonly mode: ContentMode;
  readonly limits: SizeLimits;
  /** Most messages in one transport batch; `undefined`: the transport's `publishBatch`, else DEFAULT_MAX_BATCH. */
  readonly maxBatch: number | undefined;
  /** Batches awaiting confirms at once. */
  readonly maxInFlightBatches: number;
  /** Give up on a publish after this long, ms. */
  readonly publishTimeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A batch unconfirmed this long means the broker is down, ms. */
  readonly outageAfterMs: number;
  readonly breaker: BreakerOptions;
  readonly rateLimit: RateLimitSettings | undefined;
  readonly spool: SpoolSettings | undefined;
}

export interface SpoolSettings {
  readonly path: string;
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** When the spool is full: wait for room (up to the publish timeout), or reject at once. */
  readonly whenFull: "wait" | "reject";
  readonly leaseMs: number;
  readonly flushBatch: number;
}

/** Where a message goes when not simply to every group bound to its type. */
export interface Route {
  /** Topic instead of the message type (replies go to the requester's reply topic). */
  readonly topic?: string;
  /** Only this group. */
  readonly group?: string;
}

import { ConfigurationError } from "../errors.js";
import type { InboxStore } from "../stores/inbox.js";
import type { BreakerOptions } from "./circuit-breaker.js";
import { toMs, type Duration } from "./duration.js";
import type { RetrySettings } from "./failure-policy.js";
import type { Middleware } from "./handler-context.js";
import type { InboxWord } from "./inbox-handles.js";
import { serviceLevel, type ServiceLevelOption } from "./service-level.js";
import type { ServiceLevel } from "../transport/service-report.js";
import { rateLimitSettings, type RateLimitOptions, type RateLimitSettings } from "./token-bucket.js";

export interface RetryOptions {
  /** Most attempts in all, the first included. Default 5 (or delays.length + 1 when `delays` is set). */
  readonly attempts?: number;
  /** An explicit delay ladder, e.g. `["5s", "30s", "5m"]`; the last step repeats. Default: exponential backoff. */
  readonly delays?: readonly Duration[];
  /** Exponential backoff with full jitter: the first retry waits up to this. Default `"1s"`. */
  readonly base?: Duration;
  /** Exponential backoff: the longest wait. Default `"5m"`. */
  readonly max?: Duration;
}

/**
 * `TTx`: what `ctx.transaction` hands the handler. `TInbox`: the handle of the
 * bus's own inbox (`Bus<TInbox>`), what `"inbox"` stands for; a bus with no
 * inbox (`never`) does not take `"inbox"` (inbox-handles.ts).
 */
export interface ConsumeOptions<TTx = unknown, TInbox = unknown> {
  /** The consumer group: competing consumers share its messages; every group gets every message. */
  readonly group: string;
  /** Handlers running at once. Default 8. */
  readonly concurrency?: number;
  /** Deliveries held at once (running + waiting in lanes). Default `concurrency * 2`. */
  readonly prefetch?: number;
  /** Handle one key's messages one at a time, in order. Default false. */
  readonly ordered?: boolean;
  readonly retry?: RetryOptions;
  /**
   * `"inbox"` (the bus's inbox store: its `inbox` option, else the transport's own), a store of your own, or
   * `"none"`. Default: the bus's `idempotency` option, else `"none"`.
   */
  readonly idempotency?: "none" | InboxWord<TInbox> | InboxStore<TTx>;
  /** `"at-most-once"` acks before handling (telemetry only). Default `"at-least-once"`. */
  readonly delivery?: "at-least-once" | "at-most-once";
  /**
   * Fail an attempt that runs longer than this (HandlerTimeoutError, retryable: retried, then dead-lettered
   * like any failure, its concurrency slot and key freed). `false` turns it off. Default `"5m"`.
   *
   * Why a default at all: without one, a handler that never resolves holds its key and a slot forever, and
   * `concurrency` of them stop the consumer with nothing failing. Why five minutes: long enough that no
   * legitimately slow handler of a message (an HTTP call with retries, a report) is cut off by surprise, short
   * enough that a hang is retried within minutes. The lease is renewed while the handler runs, so a handler
   * longer than its lease is fine; one longer than five minutes sets `timeout` to what it needs, or `false`.
   * (BullMQ and NServiceBus have no handler timeout and rely on stall detection; MassTransit's timeout filter
   * defaults to 30 s once used. A hang here is not a stall the broker sees: the process and its lease live.)
   */
  readonly timeout?: Duration | false;
  /** Visibility timeout of a delivery on leasing transports; renewed while held. Default `"30s"`. */
  readonly lease?: Duration;
  /** Consumer circuit breaker; `false` disables it. Default threshold 10, cool-down 1 s to 30 s. */
  readonly breaker?: Partial<BreakerOptions> | false;
  /**
   * Most handler attempts a second for this consumer (token bucket: `burst` at once after an idle period,
   * then `perSecond`; retries count). Waiting for a token is not part of `timeout`; closing ends the wait and
   * the message goes back for redelivery. Default: none.
   */
  readonly rateLimit?: RateLimitOptions;
  /** Extra middleware, outermost first, around the handler (inside the runtime's own). */
  readonly middleware?: readonly Middleware[];
  /**
   * This consumer's service level, e.g. `"95%<30s"`: 95% of messages processed within 30 s of their publish.
   * Carried in the bus's service reports; the dashboard shows it met or not. Default: none.
   */
  readonly slo?: ServiceLevelOption;
}

/** ConsumeOptions with every default applied and validated. */
export interface ConsumerSettings {
  readonly group: string;
  readonly concurrency: number;
  readonly prefetch: number;
  readonly ordered: boolean;
  readonly retry: RetrySettings;
  readonly atMostOnce: boolean;
  readonly timeoutMs: number | undefined;
  readonly leaseMs: number;
  readonly breaker: BreakerOptions;
  readonly rateLimit: RateLimitSettings | undefined;
  readonly middleware: readonly Middleware[];
  readonly slo: ServiceLevel | undefined;
}

/** Default of `ConsumeOptions.timeout` (why five minutes: its doc comment). */
export const DEFAULT_HANDLER_TIMEOUT = "5m";

const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ConfigurationError(`${what} must be a positive integer`);
  return v;
}

/** The one place consumer defaults live. */
export function consumerSettings(options: ConsumeOptions<unknown>): ConsumerSettings {
  if (typeof options.group !== "string" || !GROUP.test(options.group)) {
    throw new ConfigurationError(`group ${JSON.stringify(options.group)} must be 1-200 of letters, digits, ".", "_", ":", "-"`);
  }
  const concurrency = positiveInt(options.concurrency, 8, "concurrency");
  const prefetch = positiveInt(options.prefetch, concurrency * 2, "prefetch");
  if (prefetch < concurrency) throw new ConfigurationError("prefetch must be at least concurrency");
  const delaysMs = options.retry?.delays?.map((d) => toMs(d, "retry delay"));
  const attempts = positiveInt(options.retry?.attempts, delaysMs ? delaysMs.length + 1 : 5, "retry.attempts");
  const breakerOpt = options.breaker;
  return {
    group: options.group,
    concurrency,
    prefetch,
    ordered: options.ordered ?? false,
    retry: {
      maxAttempts: attempts,
      delaysMs,
      baseMs: toMs(options.retry?.base ?? "1s", "retry.base"),
      maxMs: toMs(options.retry?.max ?? "5m", "retry.max"),
    },
    atMostOnce: options.delivery === "at-most-once",
    timeoutMs: options.timeout === false ? undefined : toMs(options.timeout ?? DEFAULT_HANDLER_TIMEOUT, "timeout"),
    leaseMs: toMs(options.lease ?? "30s", "lease"),
    breaker: breakerOpt === false
      ? { threshold: 0, cooldownMs: 1000, maxCooldownMs: 30_000 }
      : { threshold: breakerOpt?.threshold ?? 10, cooldownMs: breakerOpt?.cooldownMs ?? 1000, maxCooldownMs: breakerOpt?.maxCooldownMs ?? 30_000 },
    rateLimit: options.rateLimit === undefined ? undefined : rateLimitSettings(options.rateLimit, "rateLimit"),
    middleware: options.middleware ?? [],
    slo: options.slo === undefined ? undefined : serviceLevel(options.slo, "slo"),
  };
}

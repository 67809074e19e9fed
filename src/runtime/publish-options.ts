import type { Duration } from "./duration.js";

export interface PublishOptions {
  /** Ordering key; default: the contract's `key(data)`. */
  readonly key?: string;
  /** Message id; default a fresh UUIDv7. Reuse an id only to publish the same message again. */
  readonly id?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Deliver no sooner than this (needs a transport with native delay). */
  readonly delay?: Duration;
  /** Extra CloudEvents extension attributes: lower-case alphanumeric names, string values. */
  readonly extensions?: Readonly<Record<string, string>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Where replies go (set by `request`). */
  readonly replyTo?: string;
}

export interface PublishReceipt {
  /** The message id (UUIDv7). */
  readonly id: string;
}

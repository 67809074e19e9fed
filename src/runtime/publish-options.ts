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
  /**
   * `false`: this publish never goes to the spool; it resolves only on the
   * broker's confirm, or rejects (PublishTimeoutError) after
   * `publisher.timeout`. Default `true` when the bus has a spool.
   */
  readonly spool?: boolean;
}

export interface PublishReceipt {
  /** The message id (UUIDv7). */
  readonly id: string;
  /**
   * `confirmed`: the broker confirmed it durably. `spooled`: the broker did
   * not confirm in time, and the message is on disk in the local spool, to be
   * sent under this id when the broker is back (DESIGN.md §7).
   */
  readonly outcome: "confirmed" | "spooled";
}

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
  /**
   * Not handled after this long: a consumer that gets the message later
   * dead-letters it with reason `expired` instead of running its handler
   * (retries and redeliveries keep the same absolute expiry time). Counted
   * from this call; producer and consumer clocks must roughly agree.
   * Default: the contract's `expiresIn`, else never. `bus.request` sets it
   * to its timeout (or keeps a shorter one given here). See docs/expiry-priority.md.
   */
  readonly expiresIn?: Duration;
  /**
   * 0 (lowest) to 9 (highest): consumers take higher-priority messages
   * first, natively where the broker can (`capabilities.priorities`), else
   * among the deliveries a consumer holds. Never reorders messages of one
   * key. Default: the contract's `priority`, else none (treated as 0).
   */
  readonly priority?: number;
  /** Where replies go (set by `request`). */
  readonly replyTo?: string;
  /**
   * `false`: this publish never goes to the spool; it resolves only on the
   * broker's confirm, or rejects (PublishTimeoutError) after
   * `publisher.timeout`. Default `true` when the bus has a spool.
   */
  readonly spool?: boolean;
  /**
   * Publish inside this open transaction of yours, on a transport that can
   * (the TransactionalPublish ability; PostgreSQL takes a node-postgres
   * client after BEGIN, a Kysely transaction on a PostgresDialect, or
   * `kyselyTx(trx)`). The message is written in it at once and is visible to
   * consumers when, and only if, it commits: never batched, retried or
   * spooled, and the receipt's `confirmed` means written in it. A failure leaves
   * your transaction to roll back. Other transports reject with
   * ConfigurationError (use the outbox there). Default: none.
   */
  readonly transaction?: unknown;
}

export interface PublishReceipt {
  /** The message id (UUIDv7). */
  readonly id: string;
  /**
   * `confirmed`: the broker confirmed it durably. `spooled`: the broker did
   * not confirm in time, and the message is on disk in the local spool, to be
   * sent under this id when the broker is back (docs/contract.md §7).
   * With `transaction`, `confirmed` means written in that transaction:
   * durable and visible to consumers when (and only if) it commits.
   */
  readonly outcome: "confirmed" | "spooled";
}

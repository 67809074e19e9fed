/**
 * The one seam between missive's runtime and a broker.
 *
 * A transport moves opaque wire messages (string headers + byte body) from
 * topics to consumer groups and settles them. It knows nothing of contracts,
 * retries policies, lanes or inboxes: those are the runtime's. What a broker
 * can or cannot do is declared in `capabilities`, and the runtime fills the
 * gaps (see docs/adr/001-transport-seam.md). Deliberately left out: broker
 * vocabulary (exchanges, streams, subjects), connection management knobs,
 * and anything a runtime could do once for every broker.
 */
import type { WireMessage } from "../envelope/wire.js";
import type { Logger } from "../observability/logger.js";

/**
 * What the broker does natively that changes what the runtime does. Each one
 * is read by the runtime, and each has a test that runs with it off (the
 * memory transport can turn any of them off). Optional features that add
 * methods are abilities instead (abilities.ts).
 */
export interface TransportCapabilities {
  /**
   * `retry(delayMs)` and `OutgoingMessage.delayMs` schedule delivery durably
   * inside the broker. Without it the bus wraps the transport in the runtime
   * delay fill (runtime/delay-fill.ts, ADR 008): a delayed message is
   * published at once with its due time in a header and held by the
   * subscriber until due; an unordered consumer's retry is a confirmed copy
   * with a due time, an ordered one's waits in-process (the lease keeps other
   * consumers off it). The transport itself never sees `delayMs` or `retry`.
   */
  readonly nativeDelay: boolean;
  /**
   * `key`: the transport never hands out a message while an earlier message
   * of the same key in the same group is unsettled or scheduled for retry,
   * across all consumers of the group; the runtime then retries through the
   * broker. `none`: no promise across consumers: the runtime orders what one
   * consumer holds (lanes), keeps a keyed retry in-process so it cannot be
   * overtaken, and gives back later deliveries of a key whose lease was lost.
   */
  readonly ordering: "key" | "none";
  /**
   * Largest wire message (headers + body) the broker accepts, in bytes. The
   * producer refuses a bigger one with MessageTooLargeError before it reaches
   * the broker (and never spools it: it could never be sent). A transport
   * handed one anyway fails that message alone: its PublishResult is a
   * MessageTooLargeError and the rest of the batch is published.
   */
  readonly maxMessageBytes: number;
  /**
   * Priority levels the broker orders by natively: 10 for missive's 0–9,
   * 0 for none. With levels, the transport hands out higher-`priority`
   * messages first; without, the runtime fills in: a consumer runs the
   * deliveries it holds (its prefetch) highest priority first. Either way
   * priority never reorders messages of one key: a transport applies it
   * only where its broker cannot move a message ahead of an earlier one of
   * its key (docs/expiry-priority.md). Optional: absent means 0.
   */
  readonly priorities?: number;
  /**
   * What `Delivery.attempt` counts. `exact` (default): handler starts, from
   * 1: crash redeliveries and retries count, releases do not. `deliveries`:
   * every delivery, releases and naks included (JetStream's
   * `num_delivered`). `none`: always 0. With `deliveries` or `none` the
   * runtime counts attempts itself, in the header it writes on each retry
   * (runtime/attempts.ts says what that leaves out).
   */
  readonly attempts?: AttemptCounting;
  /**
   * Who keeps the lease of a delivery the runtime still holds. `transport`
   * (default): the transport renews it (or its leases never run out while
   * the connection lives). `runtime`: the broker has an ack deadline it does
   * not extend by itself (JetStream's ack wait, Redis Streams' idle time);
   * the runtime calls `Delivery.renewLease()` every `leaseMs / 3` while it
   * holds the delivery, so a long handler keeps its message.
   */
  readonly leaseRenewal?: "transport" | "runtime";
  /**
   * The batch size this transport publishes best at: the producer's default
   * `maxBatch` when the bus's `publisher.maxBatch` is not set (an explicit
   * one wins). For a pipelined client whose broker runs a batch while the
   * next fills (Redis), a batch of every waiting publish leaves client and
   * broker taking turns; smaller batches let them overlap. A positive
   * integer; absent means the producer's default (512).
   */
  readonly publishBatch?: number;
}

/** What a broker's own delivery count means: see TransportCapabilities.attempts. */
export type AttemptCounting = "exact" | "deliveries" | "none";

/**
 * What the bus hands a transport when it connects: where to log, and where to
 * report what an operator must see (a connection lost, a subscription that
 * cannot resume). A transport never swallows an error: it logs it here at the
 * right level, reports it, or lets it propagate.
 */
export interface TransportContext {
  readonly log: Logger;
  /** A change an operator must see; it reaches the bus's status listeners. */
  report(event: TransportEvent): void;
}

/** What a transport reports (`bus.onStatus`, type `transport`). */
export type TransportEvent =
  /** The broker connection dropped (`down`) or is back (`up`). */
  | { readonly kind: "connection"; readonly state: "down" | "up"; readonly reason?: string }
  /** A subscription stopped receiving and keeps trying (`failing`, with the broker's reason), or receives again (`resumed`). */
  | { readonly kind: "subscription"; readonly group: string; readonly state: "failing" | "resumed"; readonly reason?: string };

/** One message to publish. */
export interface OutgoingMessage {
  /** Routing topic: the message type. Groups bound to it receive the message. */
  readonly topic: string;
  /** The message id (ce-id), unique; transports may use it for broker-side dedup. */
  readonly id: string;
  /** Ordering key; `undefined` means unkeyed. */
  readonly key: string | undefined;
  readonly wire: WireMessage;
  /** Deliver no sooner than this many ms from now. Set only on a transport with `nativeDelay` (else the delay fill takes it). */
  readonly delayMs?: number;
  /**
   * 0–9, higher first (the envelope's `priority`); unset means 0. Used by
   * transports with `priorities`; others ignore it.
   */
  readonly priority?: number;
  /**
   * Deliver to this group only (replies, redrives, the dead-letter fallback).
   * Unset: every group bound to `topic`.
   */
  readonly group?: string;
}

/**
 * A received message, unsettled until exactly one of ack, retry or deadLetter
 * has resolved. Settling twice is a no-op. A settle that fails because the
 * lease was lost rejects with LeaseLostError: the message is someone else's now.
 */
export interface Delivery {
  readonly topic: string;
  readonly group: string;
  readonly wire: WireMessage;
  /** The ordering key as the transport knows it (`ce-key` unless the broker keeps its own). */
  readonly key: string | undefined;
  /**
   * The broker's count of this message's deliveries to the group, as the
   * `attempts` capability defines it: with `exact`, from 1, counting crash
   * redeliveries and retries but not releases; 0 when it cannot know. The
   * runtime also writes an attempts header on every retry.
   */
  readonly attempt: number;
  /**
   * Optional. The runtime calls it just before it starts this delivery's
   * handler. `false`: the delivery is no longer the consumer's (the channel
   * or lease it came on is gone and the broker has the message back), so
   * the runtime drops it without starting or settling it: no handler runs
   * for a message being delivered again elsewhere. A transport whose broker
   * counts every return (a reset hands back all that was prefetched) marks
   * the start here, so only handler starts count toward `attempt`.
   */
  start?(): boolean;
  /** Done: remove the message for this group. */
  ack(): Promise<void>;
  /** Deliver again after `delayMs` with `headers` replacing the message's headers. Requires `nativeDelay`. */
  retry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Move to the broker's dead-letter store with `headers` replacing the
   * message's headers. Called only on transports with the NativeDeadLetters
   * ability (abilities.ts); others may reject with ConfigurationError.
   */
  deadLetter(headers: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Give the message back unhandled (its handler never started: the consumer
   * is closing): deliverable again at once, headers unchanged, and this
   * delivery not counted in the next one's `attempt`, so graceful restarts
   * never use up a message's retry budget.
   */
  release(): Promise<void>;
  /**
   * Push the lease's deadline `leaseMs` further (JetStream `working()`).
   * Required when `leaseRenewal` is `runtime`, which then calls it every
   * `leaseMs / 3` while it holds the delivery; a no-op once settled. Rejects
   * with LeaseLostError when the lease already went to another delivery.
   */
  renewLease?(): Promise<void>;
}

export interface SubscribeOptions {
  /** The consumer group. */
  readonly group: string;
  /** Topics (message types) the group receives; the binding is durable unless `temporary`. */
  readonly topics: readonly string[];
  /** Most unsettled deliveries this subscription holds at once. */
  readonly prefetch: number;
  /** Ask for key order (`ordering: "key"` transports enforce it across consumers). */
  readonly ordered: boolean;
  /** Visibility timeout for leases, ms; leases of deliveries still held are renewed (by the transport, or by the runtime: `leaseRenewal`). */
  readonly leaseMs: number;
  /** Remove the group and its binding when the subscription closes (reply groups). */
  readonly temporary?: boolean;
}

export interface Subscription {
  /**
   * Up to `max` deliveries. Waits up to `waitMs` for the first; resolves with
   * what it has then, or [] (on timeout, or once closed). Never more than
   * `prefetch` unsettled at once across calls.
   */
  receive(max: number, waitMs: number): Promise<Delivery[]>;
  /** Stop receiving. Deliveries already handed out can still be settled until the transport closes. */
  close(): Promise<void>;
}

/** A message in a dead-letter store. */
export interface DeadLetter {
  /** The store's own id for this entry; entries are listed in the order of these ids. */
  readonly entryId: string;
  /** The message id (ce-id), kept on replay so an inbox still deduplicates. */
  readonly messageId: string;
  readonly group: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** The original body and headers, with diagnostics under the `missive-` prefix. */
  readonly wire: WireMessage;
  /** Unix ms when it was dead-lettered. */
  readonly deadLetteredAt: number;
}

/** Which dead letters: every field given narrows the set; none means all. */
export interface DeadLetterQuery {
  readonly group?: string;
  /** The message type. */
  readonly topic?: string;
  /** The `missive-error-code` diagnostic, e.g. `MISSIVE_SCHEMA`. */
  readonly errorCode?: string;
  /** The `missive-error-class` diagnostic, e.g. `SchemaValidationError`. */
  readonly errorClass?: string;
  readonly messageId?: string;
  /** Dead-lettered at or after this unix ms. */
  readonly since?: number;
  /** Dead-lettered at or before this unix ms. */
  readonly until?: number;
}

/** A query plus paging: pass the last entry id of one page as `after` to get the next. */
export interface DeadLetterFilter extends DeadLetterQuery {
  /** Most entries returned. Default 1000. */
  readonly limit?: number;
  /** Only entries after this entry id, in store order. */
  readonly after?: string;
}

/** Dead letters grouped by message type and error. */
export interface DeadLetterSummary {
  readonly topic: string;
  /** `undefined` when the entry carries no such diagnostic (dead-lettered by a plain client). */
  readonly errorCode: string | undefined;
  readonly errorClass: string | undefined;
  readonly count: number;
  /** Unix ms of the oldest and the newest entry of the group. */
  readonly firstDeadLetteredAt: number;
  readonly lastDeadLetteredAt: number;
}

/**
 * A dead-letter store: the broker's own (NativeDeadLetters) or one kept in a
 * database by the runtime for brokers without one. Replays are
 * at-least-once: a crash half-way leaves each entry in the store or its
 * message back in the queue, or briefly both, never neither.
 */
export interface DeadLetterStore {
  /** Entries matching `filter`, in store order (oldest first). */
  list(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /** One entry whole, or `undefined` when there is none with that id. */
  get(entryId: string): Promise<DeadLetter | undefined>;
  count(query?: DeadLetterQuery): Promise<number>;
  /** Counts by type × error, most frequent first. */
  summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]>;
  /**
   * Put entries back into their group's queue, same message id, headers
   * without the diagnostics, attempts from zero. Entries that no longer exist
   * (or whose group is gone) are skipped. Resolves with how many were moved.
   */
  replay(entryIds: readonly string[]): Promise<number>;
  /**
   * Put one entry back with `wire` in place of its stored message (the
   * runtime's edit-then-replay; it has validated `wire` already). Same
   * message id and group. Resolves false when the entry no longer exists.
   */
  replayEdited(entryId: string, wire: WireMessage): Promise<boolean>;
  discard(entryIds: readonly string[]): Promise<number>;
}

/** One consumer group's queue, as operators see it (docs/contract.md): what `missive queues` shows. */
export interface QueueStats {
  readonly group: string;
  /** Topics (message types) bound to the group. */
  readonly topics: readonly string[];
  /** Messages in the group's queue: ready + in flight + delayed. */
  readonly depth: number;
  /** Deliverable now. */
  readonly ready: number;
  /** Handed to a consumer and not settled (under a live lease). */
  readonly inFlight: number;
  /** Waiting for a delayed publish or a retry backoff. */
  readonly delayed: number;
  /** Age in ms of the oldest message in the queue (the consumer lag in time); `undefined` when empty. */
  readonly oldestAgeMs: number | undefined;
  /** Entries of this group in the dead-letter store; `undefined` without a native store. */
  readonly deadLetters: number | undefined;
  /** Live consumers (subscriptions, in every process) of the group; `undefined` when the broker cannot tell. */
  readonly consumers: number | undefined;
  /** A temporary group (request-reply, `missive tail`), removed when its subscription closes. */
  readonly temporary: boolean;
}

/** Per-message result of a publish: undefined when confirmed, the error when not. */
export type PublishResult = Error | undefined;

/** How durable a confirm really is on this broker as configured (docs/contract.md §1), for docs and `missive doctor`. */
export interface DurabilityReport {
  /** What a publish confirm means here, in one sentence. */
  readonly confirm: string;
  /** The settings that decide it, as read from the broker (e.g. `synchronous: FULL`). */
  readonly settings: Readonly<Record<string, string>>;
  /** Ways the current configuration can lose a confirmed message. Empty when none are known. */
  readonly warnings: readonly string[];
}

/**
 * The core every transport implements. Optional features are abilities
 * (abilities.ts): a transport implements those its broker has.
 */
export interface Transport {
  /** Short name of the broker, e.g. `sqlite`; the OTel `messaging.system`. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /**
   * Open connections. Idempotent. Rejects with AuthenticationError,
   * ConfigurationError or ConnectionError. The bus passes its context (logger,
   * status reports); without one the transport logs nowhere.
   */
  connect(context?: TransportContext): Promise<void>;
  /** Durably bind `group` to `topics` (a durable queue). Idempotent. */
  bind(group: string, topics: readonly string[]): Promise<void>;
  /**
   * Publish a batch. Resolves only when every message is durably confirmed
   * or individually failed (e.g. UnroutableError), one result per message in
   * order. Rejects when the whole batch failed (ConnectionError, …): then
   * none, some or all may have been stored; the runtime retries with the
   * same ids.
   */
  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Close connections; pending unsettled deliveries return to their queues (or their leases run out). */
  close(): Promise<void>;
}

/** Topic the runtime uses for dead letters on transports without native dead-lettering. */
export function deadLetterTopic(group: string): string {
  return `missive.dlq.${group}`;
}

/**
 * Optional abilities of a transport: each a small interface a transport
 * implements when its broker has the feature, and a type guard the runtime
 * and the CLI test it with (Watermill's optional interfaces). A transport
 * without an ability is still a whole transport: the runtime fills the gap
 * (a dead-letter topic or database store, a temporary reply group) or the
 * tool says plainly that the broker cannot tell.
 *
 * Every ability is listed in ABILITY_METHODS, so a wrapper forwards each one
 * without naming them (forward-abilities.ts).
 */
import type { KeyLag, ServiceReport } from "./service-report.js";
import type { DeadLetterStore, Delivery, DurabilityReport, OutgoingMessage, PublishResult, QueueStats, Subscription, Transport } from "./transport.js";

/**
 * A browsable dead-letter store kept by the broker. With it, `Delivery.deadLetter`
 * moves a message into the store; without it the runtime never calls
 * `deadLetter` and keeps dead letters itself (a database store, or the
 * `missive.dlq.<group>` topic).
 */
export interface NativeDeadLetters {
  readonly deadLetters: DeadLetterStore;
}

/** Queue depth, lag and consumers per group, as `missive queues` shows them. */
export interface QueueInspection {
  /** Every consumer group's queue. */
  stats(): Promise<QueueStats[]>;
}

/** How durable a confirm is, read from the broker's (or file's) own settings, never from this process's options. */
export interface DurabilityReporting {
  durability(): Promise<DurabilityReport>;
}

/** A broker with a topology of its own to declare ahead of time (`missive topology`, services with least privilege). */
export interface TopologyDeclaration {
  /** Declare everything `group` needs to consume `topics`. Idempotent. */
  declareTopology(group: string, topics: readonly string[]): Promise<void>;
}

/**
 * A cheap round trip that says whether the broker would take a publish now
 * (connected, answering, not blocking publishers; SQLite: the write lock can
 * be taken). The producer pings after an outage its publishes detected, so
 * the broker is seen up again (and `bus.health()` ready) even when nothing
 * is published meanwhile; without it only the next publish can say so.
 */
export interface BrokerPing {
  /** Resolves when the broker answered as a publish needs; rejects with a ConnectionError otherwise. */
  ping(): Promise<void>;
}

/** Where replies to this process's requests arrive. */
export interface ReplyInbox extends Subscription {
  /** The address a request carries (`replyto`); a reply is published to it as its topic. */
  readonly address: string;
}

/**
 * A native reply address (RabbitMQ's direct reply-to): no queue to declare or
 * remove. Without it the runtime subscribes a temporary group to a private
 * topic. Replies are at-most-once either way: a lost reply times its request out.
 */
export interface ReplyAddress {
  /** Open the reply inbox for `address`, a topic name unique to this process chosen by the runtime. */
  openReplies(address: string, prefetch: number): Promise<ReplyInbox>;
}

/**
 * Publishing inside the caller's own open database transaction (PostgreSQL:
 * the queue lives in that database): the messages are visible to consumers
 * when, and only if, that transaction commits. No outbox, no relay.
 * `bus.publish(…, { transaction })` goes through it; without it that option
 * is refused, and the outbox is the way (docs/outbox-inbox.md).
 */
export interface TransactionalPublish {
  /**
   * Write `batch` with `tx`, a transaction of the caller's this transport can
   * write in; per-message results as `publish`. Rejects with
   * ConfigurationError when `tx` is no such transaction. A failure rejects
   * the whole call: the caller's transaction then holds an error and must
   * roll back, so nothing is retried here.
   */
  publishIn(tx: unknown, batch: readonly OutgoingMessage[]): Promise<PublishResult[]>;
}

/**
 * A delivery whose queue lives in a database an inbox writes to (PostgreSQL):
 * it can be acked inside the inbox's own transaction, so the handler's
 * writes, the inbox row and the ack commit as one and a crash between them
 * leaves none or all. An inbox store asks for it (`acksWithinTransaction`)
 * and, when the scopes match, reports the outcome `acked: true`; the runtime
 * then settles nothing more. Without it the runtime acks after the commit.
 */
export interface AckWithinTransaction {
  /**
   * Where the queue's statements run: the pool (or database handle) itself.
   * An inbox acks within its transaction only a delivery whose `ackScope` is
   * the very object its own transactions come from, never by comparing
   * connection strings.
   */
  readonly ackScope: object;
  /**
   * Write the ack with `tx`, an open transaction taken from `ackScope`, and
   * resolve with the function to call once that transaction ended (`true`:
   * committed, the delivery is settled; `false`: rolled back or unknown, it
   * is held again and settles as usual). Resolves `undefined` and writes
   * nothing when the delivery is no longer held (settled already). Rejects
   * with LeaseLostError when the lease is someone else's now (the caller
   * must roll back: another consumer has the message), or with the
   * database's error (nothing changed).
   */
  ackWithin(tx: unknown): Promise<TransactionAckEnd | undefined>;
}

/** How the transaction holding an ack ended: `true` committed, `false` rolled back (or not known to have committed). */
export type TransactionAckEnd = (committed: boolean) => void;

export function publishesInTransaction<T extends Transport>(t: T): t is T & TransactionalPublish {
  return typeof (t as Partial<TransactionalPublish>).publishIn === "function";
}

export function acksWithinTransaction<D extends Delivery>(d: D): d is D & AckWithinTransaction {
  return typeof (d as Partial<AckWithinTransaction>).ackWithin === "function" && typeof (d as Partial<AckWithinTransaction>).ackScope === "object";
}

/**
 * Service reports (service-report.ts) kept on the channel the transport
 * already uses for status: a table, a status stream, the broker's memory.
 * What a service alone knows (processing times, message ages, keys blocked
 * behind a retry, its spool and outbox lag) reaches the dashboard this way.
 * Best-effort: a report that fails to be written rejects, and the next one
 * replaces it; reports are kept for REPORT_RETENTION_MS at least, and may be
 * dropped after.
 */
export interface ServiceReporting {
  writeReport(report: ServiceReport): Promise<void>;
  /** Every report made at or after `sinceMs` (the reporter's clock), checked (malformed ones skipped), oldest first. */
  readReports(sinceMs: number): Promise<ServiceReport[]>;
}

/** A key's backlog as the broker holds it: its messages not yet handled in one group (ready, held, delayed or waiting their turn). */
export interface KeyBacklog extends KeyLag {
  readonly group: string;
}

/**
 * The keys with the most messages waiting, read from the broker itself (a
 * queue table grouped by key). Only a broker that stores a message's key
 * where it can be counted has it: a stream or queue broker (RabbitMQ, NATS,
 * Redis Streams) cannot tell its backlog per key without reading every
 * message, and the dashboard says so. Bounded: at most KEY_BACKLOG_SCAN
 * keyed messages are counted, so a huge backlog costs the same as that
 * many (the counts are then of those).
 */
export interface KeyBacklogInspection {
  /** At most `limit` keys over every group, most waiting first (the oldest first among equals). */
  keyBacklog(limit: number): Promise<KeyBacklog[]>;
}

/** Keyed messages a KeyBacklogInspection counts at most per call. */
export const KEY_BACKLOG_SCAN = 100_000;

/** How long a transport keeps service reports at least: what the dashboard can chart on its first look. */
export const REPORT_RETENTION_MS = 10 * 60_000;

export function hasNativeDeadLetters<T extends Transport>(t: T): t is T & NativeDeadLetters {
  return typeof (t as Partial<NativeDeadLetters>).deadLetters === "object" && (t as Partial<NativeDeadLetters>).deadLetters !== null;
}

export function canInspectQueues<T extends Transport>(t: T): t is T & QueueInspection {
  return typeof (t as Partial<QueueInspection>).stats === "function";
}

export function reportsDurability<T extends Transport>(t: T): t is T & DurabilityReporting {
  return typeof (t as Partial<DurabilityReporting>).durability === "function";
}

export function declaresTopology<T extends Transport>(t: T): t is T & TopologyDeclaration {
  return typeof (t as Partial<TopologyDeclaration>).declareTopology === "function";
}

export function hasReplyAddress<T extends Transport>(t: T): t is T & ReplyAddress {
  return typeof (t as Partial<ReplyAddress>).openReplies === "function";
}

export function canPing<T extends Transport>(t: T): t is T & BrokerPing {
  return typeof (t as Partial<BrokerPing>).ping === "function";
}

export function reportsServices<T extends Transport>(t: T): t is T & ServiceReporting {
  const r = t as Partial<ServiceReporting>;
  return typeof r.writeReport === "function" && typeof r.readReports === "function";
}

export function inspectsKeyBacklog<T extends Transport>(t: T): t is T & KeyBacklogInspection {
  return typeof (t as Partial<KeyBacklogInspection>).keyBacklog === "function";
}

/** The methods of every optional ability that is a function, for wrappers that forward abilities. */
export const ABILITY_METHODS = ["stats", "durability", "declareTopology", "openReplies", "ping", "publishIn", "writeReport", "readReports", "keyBacklog"] as const;

/**
 * The producer's durable local spool (docs/contract.md §7), as the runtime sees it.
 * When the broker is unreachable or a publish is not confirmed in time, the
 * producer writes messages here (fsynced) instead of holding them in memory,
 * and flushes them, oldest first and under their own ids, once the broker
 * confirms again. The spool survives the process: a restarted producer
 * flushes what an earlier one spooled. The SQLite file behind it lives in
 * `stores/spool/`; the runtime knows only this port.
 */
import type { OutgoingMessage } from "../transport/transport.js";

/** Bounds of a spool unless configured: what `publisher.spool` and `missive spool` assume. */
export const SPOOL_DEFAULTS = { maxMessages: 100_000, maxBytes: 256 * 1024 * 1024 } as const;

/** A message waiting in the spool. */
export interface SpooledMessage {
  /** Position in the spool: flush order. */
  readonly seq: number;
  readonly message: OutgoingMessage;
  /** Unix ms it was spooled. */
  readonly spooledAt: number;
  /** Flush attempts so far. */
  readonly attempts: number;
  /**
   * Set when the row is damaged (a body that is not bytes, headers that are
   * not an object of strings, an id that disagrees with its ce-id): such a
   * message is parked with this reason, never sent altered.
   */
  readonly damaged?: string;
}

/** How full the spool is. */
export interface SpoolDepth {
  /** Messages waiting to be flushed (parked ones not counted). */
  readonly messages: number;
  /** Bytes (headers + body) of every row, parked ones included: what the byte bound counts. */
  readonly bytes: number;
  /** Messages the broker refused for good (e.g. unroutable) while flushing: kept, never dropped, shown by `missive spool`. */
  readonly parked: number;
  /** Unix ms of the oldest waiting message; `undefined` when none waits. */
  readonly oldestSpooledAt: number | undefined;
}

/** Who holds the right to flush the spool file. */
export interface SpoolLease {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  /**
   * Where `pid` means something: host name, boot id and PID namespace. Only a
   * holder with the same node can be seen to be dead (containers sharing a
   * host name see each other's pids as missing).
   */
  readonly node?: string;
  /** Unix ms the lease runs out unless renewed. */
  readonly expiresAt: number;
}

/** The status a producer last recorded in its spool file (what `missive spool status` shows). */
export interface SpoolStatusRecord {
  readonly broker: "up" | "down";
  readonly breaker: "closed" | "open" | "half-open";
  readonly pid: number;
  readonly host: string;
  /** Unix ms this record was written. */
  readonly at: number;
  /** Why the broker is down, when it is. */
  readonly reason?: string;
}

export interface Spool {
  readonly path: string;
  /**
   * Append messages in order, durably (one transaction, fsynced), all or
   * none. Throws SpoolFullError when they do not fit within the bounds.
   * Resolves the spool positions, in the same order.
   */
  append(messages: readonly OutgoingMessage[]): number[];
  /** How much more fits now: messages and bytes left under the bounds. */
  room(): { readonly messages: number; readonly bytes: number };
  /** The oldest waiting (unparked) messages, in spool order, at most `limit`. */
  peek(limit: number): SpooledMessage[];
  /** Forget flushed (or otherwise confirmed) messages; how many were there. Unknown positions are ignored. */
  remove(seqs: readonly number[]): number;
  /** Count a failed flush attempt of these messages. */
  attempted(seqs: readonly number[]): void;
  /** Parked messages, in spool order, at most `limit`, with why and when they were parked. */
  parked(limit: number): Array<SpooledMessage & { readonly reason: string; readonly parkedAt: number }>;
  /** Keep a message the broker refused for good out of the flush, with the reason. */
  park(seq: number, reason: string): void;
  /** Put parked messages back in the flush (operator's decision, e.g. after binding a queue). */
  unpark(): number;
  depth(): SpoolDepth;
  /** True when a waiting message of this key is in the spool (so a newer one must queue behind it). */
  hasKey(key: string): boolean;
  /** Take or renew the flush lease for `owner`; false while another live owner holds it. */
  lease(owner: string, ttlMs: number): boolean;
  /** Give the lease up (at close) if `owner` holds it. */
  releaseLease(owner: string): void;
  /** The current lease holder, if any lease was ever taken. */
  leaseHolder(): SpoolLease | undefined;
  writeStatus(status: SpoolStatusRecord): void;
  readStatus(): SpoolStatusRecord | undefined;
  close(): void;
}

/** Bytes a message occupies in the spool and counts against its byte bound (headers in UTF-8). */
export function spooledBytes(message: OutgoingMessage): number {
  let n = message.wire.body.byteLength;
  const headers = message.wire.headers;
  for (const name in headers) n += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  return n;
}

/**
 * The rows of one flush round: those before the first damaged one (sent), and
 * that damaged row when it is the head (parked, never sent altered). The rows
 * after a damaged one wait for the next round, so order is kept.
 */
export function flushRound(rows: readonly SpooledMessage[]): { send: readonly SpooledMessage[]; damagedHead: SpooledMessage | undefined } {
  const first = rows.findIndex((r) => r.damaged !== undefined);
  if (first === -1) return { send: rows, damagedHead: undefined };
  return { send: rows.slice(0, first), damagedHead: first === 0 ? rows[0] : undefined };
}

/**
 * Which publishes go to the spool, and putting them there. A message must
 * be spooled when the broker is down, or when its key already has messages
 * in the spool (so a key is never reordered by it). The router spools the
 * run of such messages at the head of the producer's queue (as many as fit;
 * when the head does not fit it waits for room or rejects, in order), and
 * the in-flight batches when an outage is detected or the bus closes (all or
 * none per batch, in call order).
 */
import { SpoolFullError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { BrokerHealth } from "./broker-health.js";
import type { Batch, Pending } from "./producer-batch.js";
import { spooledBytes, type Spool } from "./spool.js";
import type { SpoolFlusher } from "./spool-flusher.js";
import type { StatusEvents } from "./status.js";

/** How often a head waiting for spool room looks again, ms. */
const SPOOL_RECHECK_MS = 100;

export interface SpoolRouterOptions {
  /** Most messages spooled in one append. */
  readonly maxBatch: number;
  readonly whenFull: "wait" | "reject";
}

export class SpoolRouter {
  private recheck: ReturnType<typeof setTimeout> | undefined;
  private wasEmpty: boolean;

  constructor(
    private readonly spool: Spool,
    private readonly flusher: SpoolFlusher,
    private readonly health: BrokerHealth,
    private readonly events: StatusEvents,
    private readonly options: SpoolRouterOptions,
    /** Aborted when the bus's close deadline passes: what waits for room is rejected then. */
    private readonly closing: AbortSignal,
    /** Run the producer's pump again (room was made, or a key left the spool). */
    private readonly reschedule: () => void,
    private readonly log: Logger,
  ) {
    this.wasEmpty = flusher.waitingMessages === 0;
  }

  /** Must this message go to the spool: the broker is down, or its key has messages waiting there. */
  mustSpool(p: Pending): boolean {
    if (!p.spoolable) return false;
    if (!this.health.up) return true;
    const key = p.message.key;
    // Unreadable spool: assume the key is there, so nothing of it goes out ahead of what may be waiting.
    return key !== undefined && this.flusher.waitingMessages > 0 && this.read("hasKey", () => this.spool.hasKey(key), true);
  }

  /**
   * Spool the run of queued messages at the head that must go there. Returns
   * the queue without what was spooled or rejected; `progressed` false when
   * the head waits for room (order is kept: nothing behind it goes first).
   */
  spoolHead(queue: Pending[], batches: ReadonlySet<Batch>): { queue: Pending[]; progressed: boolean } {
    // While a batch sent earlier is in flight unspooled, a later message of its key must not be spooled ahead of it.
    if (!this.health.up) {
      this.spoolUnconfirmed(batches, true);
      if (unspooledInFlight(batches)) {
        this.waitForRoom();
        return { queue, progressed: false };
      }
    }
    let n = 0;
    while (n < queue.length && n < this.options.maxBatch && this.mustSpool(queue[n]!)) n++;
    // As many as fit, oldest first: a run larger than the room left still makes progress.
    const fitting = this.fittingPrefix(queue, n);
    if (fitting > 0) {
      const items = queue.slice(0, fitting);
      try {
        this.append(items);
        for (const p of items) p.resolve({ id: p.message.id, outcome: "spooled" });
        return { queue: queue.slice(fitting), progressed: true };
      } catch (err) {
        if (!(err instanceof SpoolFullError)) throw err;
        // Another process took the room meanwhile: treated as full, below.
      }
    } else {
      this.emitFull();
    }
    // The head does not fit: reject it (whenFull "reject", or its wait ran out) or wait for room, in order.
    const now = Date.now();
    const rejectAll = this.options.whenFull === "reject" || this.closing.aborted;
    const late = queue.slice(0, n).filter((p) => rejectAll || p.deadline <= now);
    if (late.length === 0) {
      this.waitForRoom();
      return { queue, progressed: false };
    }
    const room = this.room();
    const err = new SpoolFullError(`spool ${this.spool.path} is full (room left: ${room.messages} messages, ${room.bytes} bytes); the message was neither sent nor spooled`);
    for (const p of late) p.reject(err);
    return { queue: queue.filter((p) => !late.includes(p)), progressed: true };
  }

  /**
   * Spool the spoolable messages of batches still in flight (an outage was
   * detected, or the bus closes): their callers get `spooled`. `hold`: their
   * attempt may still be confirmed, so the flusher waits for it first.
   * Batches go in call order; one that does not fit stops the rest, so none
   * is spooled ahead of an earlier one.
   */
  spoolUnconfirmed(batches: ReadonlySet<Batch>, hold: boolean): void {
    for (const batch of batches) if (!this.spoolBatch(batch, hold)) return;
  }

  /**
   * After a failed attempt, spool `failed`, and first every batch sent
   * before it that is still unconfirmed (held, their attempts may still be
   * confirmed): a later batch that fails first must not land in the spool
   * ahead of an earlier one, or the flush would reorder their keys.
   */
  spoolFailed(batches: ReadonlySet<Batch>, failed: Batch): void {
    for (const batch of batches) {
      if (!this.spoolBatch(batch, true) || batch === failed) return;
    }
  }

  /** Spool one batch's spoolable messages, all or none; false when they do not fit. */
  spoolBatch(batch: Batch, hold: boolean): boolean {
    const items = batch.pending.filter((p) => p.spoolable);
    if (items.length === 0) return true;
    let seqs: number[];
    try {
      seqs = this.append(items);
    } catch {
      return false; // No room: they stay with their attempt (and its timeout).
    }
    if (hold && batch.attemptInFlight) {
      this.flusher.hold(seqs);
      batch.held.push(...seqs);
    }
    batch.pending = batch.pending.filter((p) => !p.spoolable);
    for (const p of items) p.resolve({ id: p.message.id, outcome: "spooled" });
    return true;
  }

  /** A flush or a late confirm took messages out: room for waiters, and keys may have left the spool. */
  shrank(): void {
    if (this.flusher.waitingMessages === 0) this.wasEmpty = true;
    this.reschedule();
  }

  close(): void {
    clearTimeout(this.recheck);
    this.recheck = undefined;
  }

  /** How many of the first `n` queued messages fit in the spool's room now. */
  private fittingPrefix(queue: readonly Pending[], n: number): number {
    const room = this.room();
    let bytes = 0;
    let k = 0;
    while (k < n && k < room.messages) {
      bytes += spooledBytes(queue[k]!.message);
      if (bytes > room.bytes) break;
      k++;
    }
    return k;
  }

  /** Durably append, then tell the flusher; SpoolFullError when they do not fit (any spool failure counts as no room). */
  private append(items: readonly Pending[]): number[] {
    let seqs: number[];
    try {
      seqs = this.spool.append(items.map((p) => p.message));
    } catch (err) {
      if (err instanceof SpoolFullError) {
        this.emitFull();
        throw err;
      }
      // Not a full spool but a broken one (disk, lock past the busy timeout): callers treat it as no room, so say why here.
      this.log.error({ err, path: this.spool.path }, "spool append failed; treating the spool as full");
      throw new SpoolFullError(`spool ${this.spool.path} cannot take messages: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.flusher.appended(seqs.length);
    if (this.wasEmpty) {
      this.wasEmpty = false;
      const depth = this.read("depth", () => this.spool.depth(), undefined);
      if (depth) this.events.emit({ type: "spool", state: "spooling", at: Date.now(), depth });
    }
    return seqs;
  }

  /** Room left; none when the file cannot be read (publishes then wait or reject as when full). */
  private room(): { messages: number; bytes: number } {
    return this.read("room", () => this.spool.room(), { messages: 0, bytes: 0 });
  }

  private emitFull(): void {
    const depth = this.read("depth", () => this.spool.depth(), undefined);
    if (depth) this.events.emit({ type: "spool", state: "full", at: Date.now(), depth });
  }

  /**
   * A read of the spool file. It runs inside the producer's pump (a
   * microtask), where a throw would crash the process: a failure (a lock
   * held past the busy timeout, a disk error) is logged and `fallback` used.
   */
  private read<T>(what: string, fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (err) {
      this.log.error({ err, path: this.spool.path }, `spool ${what} failed`);
      return fallback;
    }
  }

  private waitForRoom(): void {
    if (this.recheck) return;
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      this.reschedule();
    }, SPOOL_RECHECK_MS);
  }
}

/** A batch sent earlier still holds messages the spool could not take: nothing newer may be spooled before it. */
function unspooledInFlight(batches: ReadonlySet<Batch>): boolean {
  for (const batch of batches) if (batch.pending.some((p) => p.spoolable)) return true;
  return false;
}

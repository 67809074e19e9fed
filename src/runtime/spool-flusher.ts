/**
 * Flushes the spool to the broker, oldest first, under the messages' own ids
 * (so a copy that did reach the broker before is absorbed by id or inbox),
 * and forgets each message only after the broker's confirm. One process
 * flushes a spool file at a time (a lease in the file). While the breaker is
 * open nothing is sent; a half-open breaker gets a one-message probe, whose
 * confirm closes it. A message the broker refuses for good is parked in the
 * spool (never dropped) and reported.
 *
 * Messages spooled while their first attempt was still in flight are held:
 * the flush stops before them until that attempt settles (a late confirm
 * removes them, a failure releases them), so a key's messages never go out
 * twice at once nor overtake one another.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { isRetryable } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { PublishResult, Transport } from "../transport/transport.js";
import { fullJitterDelay, sleep, type Random } from "./backoff.js";
import type { BrokerHealth } from "./broker-health.js";
import { flushRound, type Spool, type SpooledMessage } from "./spool.js";
import type { StatusEvents } from "./status.js";
import type { TokenBucket } from "./token-bucket.js";

export interface FlusherSettings {
  /** Most messages per flush batch. */
  readonly batch: number;
  /** How long the flush lease lasts unless renewed, ms. */
  readonly leaseMs: number;
  /** A flush batch unconfirmed this long is an outage, ms. */
  readonly outageAfterMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How often an idle flusher looks at the file (rows from other processes, an expired lease), ms. */
  readonly pollMs: number;
}

export class SpoolFlusher {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  private readonly held = new Set<number>();
  private readonly abort = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private leaseCheckedAt = Number.NEGATIVE_INFINITY;
  private leased = false;
  private waiting = 0;
  private flushingNow = false;
  /** Messages flushed (confirmed) by this process. */
  flushed = 0;

  constructor(
    private readonly spool: Spool,
    private readonly transport: Transport,
    private readonly health: BrokerHealth,
    private readonly events: StatusEvents,
    private readonly log: Logger,
    private readonly random: Random,
    private readonly settings: FlusherSettings,
    private readonly bucket: TokenBucket | undefined,
    /** Called after a flush removed messages (room in the spool; keys may have left it). */
    private readonly onRemoved: () => void,
  ) {
    this.waiting = spool.depth().messages;
  }

  /** Waiting messages in the spool, as last seen (cheap: the producer asks on every publish). */
  get waitingMessages(): number {
    return this.waiting;
  }

  get flushing(): boolean {
    return this.flushingNow;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** Messages were appended: look again now. */
  appended(count: number): void {
    this.waiting += count;
    this.wake();
  }

  /** These spooled messages' first attempt is still in flight: do not flush them yet. */
  hold(seqs: readonly number[]): void {
    for (const s of seqs) this.held.add(s);
  }

  /** Their first attempt settled: confirmed (forget them) or not (flush them). */
  release(seqs: readonly number[], confirmed: boolean): void {
    if (seqs.length === 0) return;
    // Unheld first: if forgetting them fails below, the flush sends them again (a duplicate id, never a stuck key).
    for (const s of seqs) this.held.delete(s);
    if (confirmed) {
      try {
        this.removeConfirmed(seqs, false);
      } catch (err) {
        this.log.warn({ err, path: this.spool.path }, "could not forget late-confirmed messages in the spool; they will be flushed again under the same ids");
      }
    }
    this.wake();
  }

  /** Stop after the batch in flight (it is bounded by the transport's own confirm timeout); give the lease up. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loopDone;
    try {
      if (this.leased) this.spool.releaseLease(this.owner);
    } catch (err) {
      this.log.warn({ err }, "could not release the spool lease");
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let wasFlushing = false;
    while (!this.abort.signal.aborted) {
      try {
        const depth = this.spool.depth();
        this.waiting = depth.messages;
        if (depth.messages === 0) {
          if (wasFlushing) this.events.emit({ type: "spool", state: "drained", at: Date.now(), depth });
          wasFlushing = false;
          this.flushingNow = false;
          await this.idle(this.settings.pollMs);
          continue;
        }
        if (!this.holdLease()) {
          await this.idle(Math.max(50, this.settings.leaseMs / 3));
          continue;
        }
        const probe = this.health.breakerState !== "closed";
        // Rows first: a half-open breaker's single probe is not spent when everything waiting is held.
        const rows = this.nextRows(probe ? 1 : this.settings.batch);
        if (rows.length === 0) {
          await this.idle(this.settings.pollMs);
          continue;
        }
        if (!this.health.permit()) {
          await this.health.changed(this.settings.pollMs, this.abort.signal);
          continue;
        }
        if (this.bucket && !this.bucket.tryTake(rows.length)) {
          await this.bucket.take(rows.length, this.abort.signal);
          // The wait may have outlasted the lease (another process took over) or the flusher (stopping).
          if (this.abort.signal.aborted) break;
          this.leaseCheckedAt = Number.NEGATIVE_INFINITY;
          if (!this.holdLease()) continue;
        }
        wasFlushing = this.flushingNow = true;
        const ok = await this.flush(rows);
        if (ok) {
          failures = 0;
        } else {
          failures++;
          await sleep(fullJitterDelay(failures, { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs }, this.random), this.abort.signal);
        }
      } catch (err) {
        // The spool file itself failed (disk, lock): keep the rows, look again later.
        this.log.error({ err, path: this.spool.path }, "spool flush failed");
        failures++;
        await sleep(fullJitterDelay(failures, { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs }, this.random), this.abort.signal);
      }
    }
    this.flushingNow = false;
  }

  /** The oldest rows, cut before the first one still held. */
  private nextRows(limit: number): SpooledMessage[] {
    const rows = this.spool.peek(limit);
    const cut = rows.findIndex((r) => this.held.has(r.seq));
    return cut === -1 ? rows : rows.slice(0, cut);
  }

  /** One flush batch; true when the broker answered it. */
  private async flush(all: readonly SpooledMessage[]): Promise<boolean> {
    const rows = this.parkDamaged(all);
    if (rows.length === 0) return true;
    const timer = setTimeout(() => this.health.outage(`spool flush not confirmed within ${this.settings.outageAfterMs} ms`), this.settings.outageAfterMs);
    let results: PublishResult[];
    try {
      results = await this.transport.publish(rows.map((r) => r.message));
    } catch (err) {
      clearTimeout(timer);
      this.spool.attempted(rows.map((r) => r.seq));
      this.health.failed(reasonOf(err));
      if (!isRetryable(err)) this.log.error({ err }, "the broker refuses the spool flush (not retryable): check the configuration; the messages stay spooled");
      else this.log.warn({ err, messages: rows.length }, "spool flush failed; will retry");
      return false;
    }
    clearTimeout(timer);
    const confirmed: number[] = [];
    const retry: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const err = results[i];
      const row = rows[i]!;
      if (err === undefined) confirmed.push(row.seq);
      else if (isRetryable(err)) retry.push(row.seq);
      else this.park(row, `${err.name}: ${err.message}`, err);
    }
    this.spool.attempted(retry);
    this.removeConfirmed(confirmed, true);
    this.health.confirmed();
    return retry.length === 0;
  }

  /** Rows the file holds damaged are parked with the reason, never sent altered; the rest, up to the first of them. */
  private parkDamaged(rows: readonly SpooledMessage[]): readonly SpooledMessage[] {
    const round = flushRound(rows);
    if (round.damagedHead) this.park(round.damagedHead, round.damagedHead.damaged!, undefined);
    return round.send;
  }

  private park(row: SpooledMessage, reason: string, err: unknown): void {
    this.spool.park(row.seq, reason);
    this.log.error({ err, reason, id: row.message.id, topic: row.message.topic }, "spooled message refused: parked in the spool");
    this.events.emit({ type: "spool-parked", at: Date.now(), messageId: row.message.id, topic: row.message.topic, reason });
  }

  private removeConfirmed(seqs: readonly number[], byFlush: boolean): void {
    if (seqs.length === 0) return;
    this.spool.remove(seqs);
    if (byFlush) this.flushed += seqs.length;
    this.waiting = this.spool.depth().messages;
    this.onRemoved();
  }

  private holdLease(): boolean {
    // Monotonic: a wall-clock jump must not stretch the interval between renewals.
    const now = performance.now();
    if (now - this.leaseCheckedAt >= this.settings.leaseMs / 3) {
      this.leased = this.spool.lease(this.owner, this.settings.leaseMs);
      this.leaseCheckedAt = now;
    }
    return this.leased;
  }

  private idle(ms: number): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wakeUp = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

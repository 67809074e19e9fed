/**
 * The producer: validates, encodes, and hands messages to the transport in
 * batches. Concurrent `publish()` calls are grouped automatically: while one
 * batch waits for its confirm the next one fills, so many callers share one
 * broker round trip (or one SQLite commit).
 *
 * It never silently drops (DESIGN.md §7). A batch that fails is retried with
 * exponential backoff and full jitter under the same message ids, so a copy
 * that did arrive is deduplicated downstream. An outage (failures in a row, or
 * a batch unconfirmed for `outageAfterMs`) opens a circuit breaker that stops
 * sending until a probe is confirmed. With a spool, what cannot be confirmed
 * goes to disk instead (the publish resolves `spooled`) and is flushed in
 * order when the broker is back; a message of a key that has messages in the
 * spool queues behind them in the spool, so a key is never reordered by it.
 */
import { hostname } from "node:os";
import { ClosedError, ConfigurationError, ConnectionError, isRetryable, PublishTimeoutError, SpoolFullError } from "../errors.js";
import { dataschemaOf, EXTENSION_NAME, KNOWN_ATTRIBUTES, NO_EXTENSIONS, type Envelope } from "../envelope/envelope.js";
import { encodeEnvelope, type ContentMode } from "../envelope/codec.js";
import type { SizeLimits } from "../envelope/limits.js";
import { uuidv7 } from "../envelope/uuidv7.js";
import { JSON_CONTENT_TYPE } from "../envelope/wire.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { validateWith } from "../contract/validate.js";
import type { Logger } from "../observability/logger.js";
import { endSend, startSend, type TraceCarrier } from "../observability/telemetry.js";
import type { OutgoingMessage, PublishResult, Transport } from "../transport/transport.js";
import { fullJitterDelay, sleep, type Random } from "./backoff.js";
import { BrokerHealth } from "./broker-health.js";
import type { BreakerOptions } from "./circuit-breaker.js";
import { toMs } from "./duration.js";
import type { PublishOptions, PublishReceipt } from "./publish-options.js";
import { spooledBytes, type Spool } from "./spool.js";
import { SpoolFlusher } from "./spool-flusher.js";
import { StatusEvents, type ProducerStatus, type StatusListener } from "./status.js";
import { TokenBucket, type RateLimitSettings } from "./token-bucket.js";

export interface ProducerSettings {
  readonly source: string;
  readonly mode: ContentMode;
  readonly limits: SizeLimits;
  /** Most messages in one transport batch. */
  readonly maxBatch: number;
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

interface Pending {
  readonly message: OutgoingMessage;
  readonly resolve: (receipt: PublishReceipt) => void;
  readonly reject: (err: Error) => void;
  /** May be resolved by a spool write (not a broker-only publish, not a reply or redrive). */
  readonly spoolable: boolean;
  /** Unix ms after which it is rejected rather than waited for. */
  readonly deadline: number;
}

/** A batch handed to the transport; its unsettled callers, and what of it was spooled meanwhile. */
interface Batch {
  pending: Pending[];
  /** Spool positions of its messages spooled while the attempt was in flight. */
  held: number[];
  attemptInFlight: boolean;
  /** The last failure of an attempt: none yet means it was never handed to the broker. */
  lastError: unknown;
}

const SPOOL_RECHECK_MS = 100;

export class Producer {
  private queue: Pending[] = [];
  private readonly batches = new Set<Batch>();
  private scheduled = false;
  private closed = false;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private readonly events: StatusEvents;
  private readonly health: BrokerHealth;
  private readonly bucket: TokenBucket | undefined;
  private readonly flusher: SpoolFlusher | undefined;
  private spoolRecheck: ReturnType<typeof setTimeout> | undefined;
  private spoolWasEmpty = true;

  constructor(
    private readonly transport: Transport,
    private readonly settings: ProducerSettings,
    private readonly random: Random,
    private readonly log: Logger,
    private readonly spool: Spool | undefined = undefined,
  ) {
    this.events = new StatusEvents(log);
    this.health = new BrokerHealth(settings.breaker, random, this.events, log, () => this.healthChanged());
    this.bucket = settings.rateLimit ? new TokenBucket(settings.rateLimit) : undefined;
    if (spool && settings.spool) {
      this.flusher = new SpoolFlusher(spool, transport, this.health, this.events, log, random, {
        batch: settings.spool.flushBatch,
        leaseMs: settings.spool.leaseMs,
        outageAfterMs: settings.outageAfterMs,
        retryBaseMs: settings.retryBaseMs,
        retryMaxMs: settings.retryMaxMs,
        pollMs: 1000,
      }, this.bucket, () => this.spoolShrank());
      this.spoolWasEmpty = this.flusher.waitingMessages === 0;
      this.flusher.start();
    }
  }

  /** Validate, encode and publish; resolves after the transport's durable confirm (or the spool's). */
  async publish(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions = {}, route: Route = {}): Promise<PublishReceipt> {
    if (this.closed) throw new ClosedError("the bus is closed");
    const value = await validateWith(definition.schema, data, `${definition.type} v${definition.version}`);
    const id = options.id ?? uuidv7();
    const topic = route.topic ?? definition.type;
    const { span, carrier } = startSend(this.transport.name, topic, id);
    try {
      const envelope = this.envelopeFor(definition, value, options, id, carrier);
      const spoolable = options.spool !== false && route.topic === undefined && route.group === undefined;
      const receipt = await this.enqueue(envelope, options.delay === undefined ? undefined : toMs(options.delay, "delay"), route, spoolable);
      endSend(span, this.transport.name, topic, undefined);
      return receipt;
    } catch (err) {
      endSend(span, this.transport.name, topic, err);
      throw err;
    }
  }

  /** Publish an already built envelope (replies, redrives, the CLI): confirmed by the broker, never spooled. */
  send(envelope: Envelope, delayMs?: number, route: Route = {}): Promise<PublishReceipt> {
    return this.enqueue(envelope, delayMs, route, false);
  }

  /** The envelope of a publish: `id` and trace context come from the caller's span unless the options set them. */
  envelopeFor(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions, id: string, trace: TraceCarrier = {}): Envelope {
    return buildEnvelope(this.settings.source, definition, data, options, id, trace);
  }

  onStatus(listener: StatusListener): () => void {
    return this.events.on(listener);
  }

  status(): ProducerStatus {
    const depth = this.spool && this.flusher ? this.spool.depth() : undefined;
    return {
      broker: this.health.up ? "up" : "down",
      breaker: this.health.breakerState,
      spool: depth && this.spool && this.flusher ? { ...depth, path: this.spool.path, flushing: this.flusher.flushing } : undefined,
    };
  }

  /** Resolves when every accepted publish has settled. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.batches.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Stop accepting publishes and wait (up to `deadlineMs`) for those accepted.
   * Then, with a spool, what is still unconfirmed is spooled (the next start
   * flushes it); without one, it is rejected. The flusher stops last.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(() => {
      this.abort.abort();
      // Held: an attempt confirmed before the process ends still takes its messages out of the spool.
      this.spoolUnconfirmed(true);
      this.schedule();
    }, deadlineMs);
    await this.drain();
    clearTimeout(timer);
    clearTimeout(this.spoolRecheck);
    this.health.close();
    await this.flusher?.stop();
    this.recordStatus();
    this.spool?.close();
  }

  private enqueue(envelope: Envelope, delayMs: number | undefined, route: Route, spoolable: boolean): Promise<PublishReceipt> {
    if (this.closed) return Promise.reject(new ClosedError("the bus is closed"));
    let wire;
    try {
      wire = encodeEnvelope(envelope, this.settings.mode, this.settings.limits);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const group = route.group;
    const message: Mutable<OutgoingMessage> = { topic: route.topic ?? envelope.type, id: envelope.id, key: envelope.key, wire };
    if (delayMs !== undefined && delayMs > 0) message.delayMs = delayMs;
    if (group !== undefined) message.group = group;
    if (message.delayMs !== undefined && !this.transport.capabilities.nativeDelay) {
      return Promise.reject(new ConfigurationError(`transport ${this.transport.name} cannot delay a publish`));
    }
    const push = (): Promise<PublishReceipt> => new Promise<PublishReceipt>((resolve, reject) => {
      const deadline = Date.now() + this.settings.publishTimeoutMs;
      this.queue.push({ message, resolve, reject, spoolable: spoolable && this.flusher !== undefined, deadline });
      this.schedule();
    });
    // The rate limit paces what enters the queue: a burst waits here, in call order, instead of reaching the broker.
    if (this.bucket && !this.bucket.tryTake(1)) {
      return this.bucket.take(1, this.abort.signal).then(() => {
        if (this.abort.signal.aborted) throw new ClosedError("the bus closed while the publish waited for its rate limit");
        return push();
      });
    }
    return push();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // A microtask: publishes made in this turn (their validation already queued) join the batch,
    // without adding an event-loop hop to every confirm round trip.
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Hand queued messages out in call order: to the spool when they must go there, else to the broker. */
  private pump(): void {
    while (this.queue.length > 0) {
      if (this.toSpool(this.queue[0]!)) {
        if (!this.spoolHead()) break;
        continue;
      }
      if (this.batches.size >= this.settings.maxInFlightBatches) break;
      let n = 0;
      while (n < this.queue.length && n < this.settings.maxBatch && (n === 0 || !this.toSpool(this.queue[n]!))) n++;
      const items = n === this.queue.length ? this.queue : this.queue.slice(0, n);
      this.queue = n === this.queue.length ? [] : this.queue.slice(n);
      const batch: Batch = { pending: items, held: [], attemptInFlight: false, lastError: undefined };
      this.batches.add(batch);
      void this.sendBatch(batch).finally(() => {
        this.batches.delete(batch);
        this.pump();
      });
    }
    if (this.queue.length === 0 && this.batches.size === 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** Must this message go to the spool: the broker is down, or its key has messages waiting there. */
  private toSpool(p: Pending): boolean {
    if (!p.spoolable) return false;
    if (!this.health.up) return true;
    const key = p.message.key;
    return key !== undefined && this.flusher!.waitingMessages > 0 && this.spool!.hasKey(key);
  }

  /**
   * Spool the run of queued messages at the head that must go there. False
   * when the spool is full and they wait for room (order is kept: nothing
   * behind them goes first).
   */
  private spoolHead(): boolean {
    // While a batch sent earlier is in flight unspooled, a later message of its key must not be spooled ahead of it.
    if (!this.health.up) {
      this.spoolUnconfirmed(true);
      if (this.unspooledInFlight()) {
        this.waitForRoom();
        return false;
      }
    }
    let n = 0;
    while (n < this.queue.length && n < this.settings.maxBatch && this.toSpool(this.queue[n]!)) n++;
    // As many as fit, oldest first: a run larger than the room left still makes progress.
    const fitting = this.fittingPrefix(n);
    if (fitting > 0) {
      const items = this.queue.slice(0, fitting);
      try {
        this.appendToSpool(items);
        this.queue = this.queue.slice(fitting);
        for (const p of items) p.resolve({ id: p.message.id, outcome: "spooled" });
        return true;
      } catch (err) {
        if (!(err instanceof SpoolFullError)) throw err;
        // Another process took the room meanwhile: treated as full, below.
      }
    } else {
      this.events.emit({ type: "spool", state: "full", at: Date.now(), depth: this.spool!.depth() });
    }
    // The head does not fit: reject it (whenFull "reject", or its wait ran out) or wait for room, in order.
    const now = Date.now();
    const rejectAll = this.settings.spool!.whenFull === "reject" || this.abort.signal.aborted;
    const late = this.queue.slice(0, n).filter((p) => rejectAll || p.deadline <= now);
    if (late.length === 0) {
      this.waitForRoom();
      return false;
    }
    const room = this.spool!.room();
    const err = new SpoolFullError(`spool ${this.spool!.path} is full (room left: ${room.messages} messages, ${room.bytes} bytes); the message was neither sent nor spooled`);
    for (const p of late) p.reject(err);
    this.queue = this.queue.filter((p) => !late.includes(p));
    return true;
  }

  /** How many of the first `n` queued messages fit in the spool's room now. */
  private fittingPrefix(n: number): number {
    const room = this.spool!.room();
    let bytes = 0;
    let k = 0;
    while (k < n && k < room.messages) {
      bytes += spooledBytes(this.queue[k]!.message);
      if (bytes > room.bytes) break;
      k++;
    }
    return k;
  }

  /** Durably append, then tell the flusher; SpoolFullError when they do not fit (any spool failure counts as no room). */
  private appendToSpool(items: readonly Pending[]): number[] {
    let seqs: number[];
    try {
      seqs = this.spool!.append(items.map((p) => p.message));
    } catch (err) {
      if (err instanceof SpoolFullError) {
        this.events.emit({ type: "spool", state: "full", at: Date.now(), depth: this.spool!.depth() });
        throw err;
      }
      throw new SpoolFullError(`spool ${this.spool!.path} cannot take messages: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.flusher!.appended(seqs.length);
    if (this.spoolWasEmpty) {
      this.spoolWasEmpty = false;
      this.events.emit({ type: "spool", state: "spooling", at: Date.now(), depth: this.spool!.depth() });
    }
    return seqs;
  }

  private waitForRoom(): void {
    if (this.spoolRecheck) return;
    this.spoolRecheck = setTimeout(() => {
      this.spoolRecheck = undefined;
      this.schedule();
    }, SPOOL_RECHECK_MS);
  }

  /**
   * Spool the spoolable messages of batches still in flight (an outage was
   * detected, or the bus closes): their callers get `spooled`. `hold`: their
   * attempt may still be confirmed, so the flusher waits for it first.
   * Batches go in call order; one that does not fit stops the rest, so none
   * is spooled ahead of an earlier one.
   */
  private spoolUnconfirmed(hold: boolean): void {
    for (const batch of this.batches) if (!this.spoolBatch(batch, hold)) return;
  }

  /** Spool one batch's spoolable messages, all or none; false when they do not fit. */
  private spoolBatch(batch: Batch, hold: boolean): boolean {
    if (!this.flusher) return false;
    const items = batch.pending.filter((p) => p.spoolable);
    if (items.length === 0) return true;
    let seqs: number[];
    try {
      seqs = this.appendToSpool(items);
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

  /** A batch sent earlier still holds messages the spool could not take: nothing newer may be spooled before it. */
  private unspooledInFlight(): boolean {
    for (const batch of this.batches) if (batch.pending.some((p) => p.spoolable)) return true;
    return false;
  }

  /** A flush or a late confirm took messages out: room for waiters, and keys may have left the spool. */
  private spoolShrank(): void {
    if (this.flusher!.waitingMessages === 0) this.spoolWasEmpty = true;
    this.schedule();
  }

  private healthChanged(): void {
    if (!this.health.up) this.spoolUnconfirmed(true);
    this.recordStatus();
    this.schedule();
  }

  private async sendBatch(batch: Batch): Promise<void> {
    for (let attempt = 1; batch.pending.length > 0; attempt++) {
      if (!(await this.permit(batch))) return;
      const pending = batch.pending;
      let results: PublishResult[];
      batch.attemptInFlight = true;
      const outage = setTimeout(() => this.health.outage(`publish not confirmed within ${this.settings.outageAfterMs} ms`), this.settings.outageAfterMs);
      try {
        results = await this.transport.publish(pending.map((p) => p.message));
      } catch (err) {
        clearTimeout(outage);
        batch.attemptInFlight = false;
        this.flusher?.release(batch.held.splice(0), false);
        if (!(await this.failed(batch, err, attempt))) return;
        continue;
      }
      clearTimeout(outage);
      batch.attemptInFlight = false;
      this.health.confirmed();
      this.flusher?.release(batch.held.splice(0), true);
      // Callers spooled while the attempt was in flight were resolved already; the rest hear the broker's answer.
      const stillPending = new Set(batch.pending);
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        if (!stillPending.has(p)) continue;
        const err = results[i];
        if (err) p.reject(err);
        else p.resolve({ id: p.message.id, outcome: "confirmed" });
      }
      batch.pending = [];
    }
  }

  /** Wait until the breaker lets an attempt go; false when the batch was settled meanwhile (spooled or timed out). */
  private async permit(batch: Batch): Promise<boolean> {
    while (!this.health.permit()) {
      if (!this.health.up) this.spoolUnconfirmed(false);
      if (batch.pending.length === 0) return false;
      const now = Date.now();
      const overdue = batch.pending.filter((p) => p.deadline <= now || this.abort.signal.aborted);
      if (overdue.length > 0) {
        const err = batch.lastError === undefined
          ? new PublishTimeoutError(`publish not sent within ${this.settings.publishTimeoutMs} ms: the broker is down (circuit breaker open); it was never handed to the broker`)
          : this.unconfirmed(batch.lastError);
        for (const p of overdue) p.reject(err);
        batch.pending = batch.pending.filter((p) => !overdue.includes(p));
        if (batch.pending.length === 0) return false;
      }
      const next = Math.min(...batch.pending.map((p) => p.deadline)) - now;
      await this.health.changed(Math.max(1, next), this.abort.signal);
    }
    return true;
  }

  private unconfirmed(cause: unknown): PublishTimeoutError {
    return new PublishTimeoutError(
      `publish not confirmed within ${this.settings.publishTimeoutMs} ms (it may still have reached the broker: publish again with the same id, and an inbox absorbs the copy)`,
      { cause },
    );
  }

  /** A failed attempt: spool or retry (true), or settle the batch (false). */
  private async failed(batch: Batch, err: unknown, attempt: number): Promise<boolean> {
    batch.lastError = err;
    if (!isRetryable(err)) {
      const final = err instanceof Error ? err : new Error(String(err));
      for (const p of batch.pending) p.reject(final);
      batch.pending = [];
      return false;
    }
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    // The transport gave up on its connection (after its own reconnect attempts): that is an outage now.
    if (err instanceof ConnectionError) this.health.outage(reason);
    else this.health.failed(reason);
    // With a spool, a failed batch goes there at once: the flusher retries it with backoff, and later messages of its keys queue behind it.
    this.spoolBatch(batch, false);
    if (batch.pending.length === 0) return false;
    const now = Date.now();
    const remaining = Math.min(...batch.pending.map((p) => p.deadline)) - now;
    if (remaining <= 0 || this.abort.signal.aborted) {
      const final = this.unconfirmed(err);
      for (const p of batch.pending) p.reject(final);
      batch.pending = [];
      return false;
    }
    const delay = Math.min(remaining, fullJitterDelay(attempt, { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs }, this.random));
    this.log.warn({ err, attempt, delayMs: delay, messages: batch.pending.length }, "publish failed; retrying");
    await sleep(delay, this.abort.signal);
    return true;
  }

  /** Record the producer's status in the spool file, where `missive spool status` reads it. */
  private recordStatus(): void {
    if (!this.spool) return;
    try {
      this.spool.writeStatus({
        broker: this.health.up ? "up" : "down",
        breaker: this.health.breakerState,
        pid: process.pid,
        host: hostnameOnce(),
        at: Date.now(),
        ...(this.health.up ? {} : { reason: "outage" }),
      });
    } catch (err) {
      this.log.warn({ err }, "could not record the producer status in the spool");
    }
  }
}

/**
 * The envelope of a message of `definition` from `source` (the producer's, and
 * the outbox's at add time): `id` and trace context come from the caller's
 * span unless the options set them.
 */
export function buildEnvelope(source: string, definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions, id: string, trace: TraceCarrier = {}): Envelope {
  const key = options.key ?? definition.keyOf(data);
  const traceparent = options.traceparent ?? trace.traceparent;
  const tracestate = options.tracestate ?? trace.tracestate;
  // Optional attributes are assigned only when set (never as undefined), in the envelope's usual order.
  const envelope = {
    id,
    source,
    type: definition.type,
    specversion: "1.0",
    time: isoNow(),
    datacontenttype: JSON_CONTENT_TYPE,
    dataschema: dataschemaOf(definition.type, definition.version),
  } as Mutable<Envelope>;
  if (key !== undefined) envelope.key = String(key);
  if (options.correlationId !== undefined) envelope.correlationid = options.correlationId;
  if (options.causationId !== undefined) envelope.causationid = options.causationId;
  if (options.replyTo !== undefined) envelope.replyto = options.replyTo;
  if (traceparent !== undefined) envelope.traceparent = traceparent;
  if (tracestate !== undefined) envelope.tracestate = tracestate;
  envelope.extensions = options.extensions ? checkedExtensions(options.extensions) : NO_EXTENSIONS;
  envelope.data = data;
  return envelope;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

let host: string | undefined;
function hostnameOnce(): string {
  return (host ??= hostname());
}

// The envelope's `time`, formatted once per millisecond rather than once per message.
let isoMs = Number.NaN;
let isoText = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** User extensions, checked: CloudEvents names that are not attributes of their own, string values. */
function checkedExtensions(given: Readonly<Record<string, string>>): Record<string, string> {
  const extensions: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(given)) {
    if (!EXTENSION_NAME.test(name) || KNOWN_ATTRIBUTES.has(name)) throw new ConfigurationError(`invalid CloudEvents extension name ${JSON.stringify(name)}`);
    const value = given[name];
    if (typeof value !== "string") throw new ConfigurationError(`extension ${name} must be a string`);
    extensions[name] = value;
  }
  return extensions;
}

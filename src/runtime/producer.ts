/**
 * The producer: validates, encodes, and hands messages to the transport in
 * batches. Concurrent `publish()` calls are grouped automatically: while one
 * batch waits for its confirm the next one fills, so many callers share one
 * broker round trip (or one SQLite commit).
 *
 * It never silently drops (docs/contract.md §7). A batch that fails is retried with
 * exponential backoff and full jitter under the same message ids, so a copy
 * that did arrive is deduplicated downstream. An outage (failures in a row, or
 * a batch unconfirmed for `outageAfterMs`) opens a circuit breaker that stops
 * sending until a probe is confirmed. With a spool, what cannot be confirmed
 * goes to disk instead (the publish resolves `spooled`) and is flushed in
 * order when the broker is back; a message of a key that has messages in the
 * spool queues behind them in the spool, so a key is never reordered by it.
 */
import { hostname } from "node:os";
import { ClosedError, ConfigurationError, ConnectionError, isRetryable, MessageTooLargeError, PublishTimeoutError } from "../errors.js";
import { exactHeaderBytes } from "../envelope/limits.js";
import type { Envelope } from "../envelope/envelope.js";
import { encodeEnvelope } from "../envelope/codec.js";
import { priorityOf } from "../envelope/expiry-priority.js";
import { uuidv7 } from "../envelope/uuidv7.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { validateNow, type PendingOr } from "../contract/validate.js";
import type { Logger } from "../observability/logger.js";
import { endSend, NO_TRACE_SPAN, startSend, type TraceCarrier } from "../observability/telemetry.js";
import { canPing, publishesInTransaction } from "../transport/abilities.js";
import type { OutgoingMessage, PublishResult, Transport } from "../transport/transport.js";
import { fullJitterDelay, sleep, type Random } from "./backoff.js";
import { BrokerHealth } from "./broker-health.js";
import { buildEnvelope, type Mutable } from "./build-envelope.js";
import { acceptsDelayedPublish } from "./delay-support.js";
import { toMs } from "./duration.js";
import type { Batch, Pending } from "./producer-batch.js";
import { maxBatchFor, type ProducerSettings, type Route } from "./producer-settings.js";
import type { PublishOptions, PublishReceipt } from "./publish-options.js";
import type { Spool } from "./spool.js";
import { SpoolFlusher } from "./spool-flusher.js";
import { SpoolRouter } from "./spool-router.js";
import { StatusEvents, type ProducerStatus, type StatusListener } from "./status.js";
import { TokenBucket } from "./token-bucket.js";

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
  private readonly router: SpoolRouter | undefined;
  /** Most messages in one transport batch: the option, else the transport's preference (maxBatchFor). */
  private readonly maxBatch: number;
  /** sentWithoutTrace's handlers, by message type: one per definition published. */
  private readonly sentHandlers = new WeakMap<MessageDefinition<string, unknown, unknown>, (receipt: PublishReceipt) => PublishReceipt>();

  constructor(
    private readonly transport: Transport,
    private readonly settings: ProducerSettings,
    private readonly random: Random,
    private readonly log: Logger,
    private readonly spool: Spool | undefined = undefined,
    events?: StatusEvents,
  ) {
    this.events = events ?? new StatusEvents(log);
    this.maxBatch = maxBatchFor(settings, transport.capabilities);
    // With the spool, a spooled message is the probe; the ping covers a producer with nothing to send.
    const ping = canPing(transport) ? () => transport.ping() : undefined;
    this.health = new BrokerHealth(settings.breaker, random, this.events, log, () => this.healthChanged(), ping);
    this.bucket = settings.rateLimit ? new TokenBucket(settings.rateLimit) : undefined;
    if (spool && settings.spool) {
      this.flusher = new SpoolFlusher(spool, transport, this.health, this.events, log, random, {
        batch: settings.spool.flushBatch,
        leaseMs: settings.spool.leaseMs,
        outageAfterMs: settings.outageAfterMs,
        retryBaseMs: settings.retryBaseMs,
        retryMaxMs: settings.retryMaxMs,
        pollMs: 1000,
      }, this.bucket, () => this.router?.shrank());
      this.router = new SpoolRouter(spool, this.flusher, this.health, this.events, {
        maxBatch: this.maxBatch,
        whenFull: settings.spool.whenFull,
      }, this.abort.signal, () => this.schedule(), log);
      this.flusher.start();
    }
  }

  /**
   * Validate, encode and publish; resolves after the transport's durable confirm (or the spool's).
   * Not an async function: a schema that validates synchronously (most do) is answered without an async
   * frame and its await per publish; every failure is still a rejected promise, never a throw.
   */
  publish(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions = {}, route: Route = {}): Promise<PublishReceipt> {
    if (this.closed) return Promise.reject(new ClosedError("the bus is closed"));
    let checked: PendingOr<unknown>;
    try {
      checked = validateNow(definition.schema, data, definition.type, definition.version);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if ("pending" in checked) return checked.pending.then((value) => this.publishValid(definition, value, options, route));
    return this.publishValid(definition, checked.value, options, route);
  }

  /** A validated publish, inside its `send` span (ended when the publish settles). */
  private publishValid(definition: MessageDefinition<string, unknown, unknown>, value: unknown, options: PublishOptions, route: Route): Promise<PublishReceipt> {
    const id = options.id ?? uuidv7();
    const topic = route.topic ?? definition.type;
    const system = this.transport.name;
    const { span, carrier } = startSend(system, topic, id);
    let receipt: Promise<PublishReceipt>;
    try {
      const envelope = this.envelopeFor(definition, value, options, id, carrier);
      const delayMs = options.delay === undefined ? undefined : toMs(options.delay, "delay");
      const spoolable = options.spool !== false && route.topic === undefined && route.group === undefined;
      receipt = options.transaction === undefined ? this.enqueue(envelope, delayMs, route, spoolable) : this.publishIn(options.transaction, envelope, delayMs, route);
    } catch (err) {
      endSend(span, system, topic, err);
      return Promise.reject(err as Error);
    }
    // The shared no-op span (no SDK, no trace around): a failure has nothing to end or record, and the
    // confirm's counting needs only the topic, the type's, so one handler per type serves instead of two
    // closures per publish. Not for a route's topic (a requester's reply topic): those are unbounded.
    if (span === NO_TRACE_SPAN && route.topic === undefined) return receipt.then(this.sentWithoutTrace(definition));
    return receipt.then(
      (confirmed) => {
        endSend(span, system, topic, undefined);
        return confirmed;
      },
      (err: unknown) => {
        endSend(span, system, topic, err);
        throw err;
      },
    );
  }

  /** The confirm handler of a publish of `definition` without a trace: counts it (when a meter records), made once per type. */
  private sentWithoutTrace(definition: MessageDefinition<string, unknown, unknown>): (receipt: PublishReceipt) => PublishReceipt {
    let handler = this.sentHandlers.get(definition);
    if (handler === undefined) {
      const system = this.transport.name;
      const topic = definition.type;
      handler = (receipt) => {
        endSend(NO_TRACE_SPAN, system, topic, undefined);
        return receipt;
      };
      this.sentHandlers.set(definition, handler);
    }
    return handler;
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
    const { spool, flusher } = this;
    return {
      broker: this.health.up ? "up" : "down",
      breaker: this.health.breakerState,
      spool: spool && flusher ? { ...spool.depth(), path: spool.path, flushing: flusher.flushing } : undefined,
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
      this.router?.spoolUnconfirmed(this.batches, true);
      this.schedule();
    }, deadlineMs);
    await this.drain();
    clearTimeout(timer);
    this.router?.close();
    this.health.close();
    await this.flusher?.stop();
    this.recordStatus();
    this.spool?.close();
  }

  /**
   * A publish inside the caller's transaction: written in it now by the transport, never batched, retried,
   * rate limited or spooled, since the transaction is the caller's to commit or roll back.
   */
  private async publishIn(tx: unknown, envelope: Envelope, delayMs: number | undefined, route: Route): Promise<PublishReceipt> {
    if (!publishesInTransaction(this.transport)) {
      throw new ConfigurationError(`transport ${this.transport.name} cannot publish inside a transaction of yours (PostgreSQL can); use the outbox (docs/outbox-inbox.md)`);
    }
    const [result] = await this.transport.publishIn(tx, [this.outgoing(envelope, delayMs, route)]);
    if (result) throw result;
    // Confirmed by the statement in the caller's transaction: its commit makes it durable (PublishReceipt).
    return { id: envelope.id, outcome: "confirmed" };
  }

  /** The message the transport gets; throws when it can never take it (a delay it cannot make, too large). */
  private outgoing(envelope: Envelope, delayMs: number | undefined, route: Route): OutgoingMessage {
    const wire = encodeEnvelope(envelope, this.settings.mode, this.settings.limits);
    const group = route.group;
    const message: Mutable<OutgoingMessage> = { topic: route.topic ?? envelope.type, id: envelope.id, key: envelope.key, wire };
    if (delayMs !== undefined && delayMs > 0) message.delayMs = delayMs;
    if (envelope.priority !== undefined) message.priority = priorityOf(envelope);
    if (group !== undefined) message.group = group;
    const caps = this.transport.capabilities;
    if (message.delayMs !== undefined && !acceptsDelayedPublish(this.transport)) {
      throw new ConfigurationError(`transport ${this.transport.name} cannot delay a publish`);
    }
    // Refused here, not by the broker: a message the broker can never take must not be retried or spooled.
    // The encoder already bounded the headers, so the exact count is needed only near the limit.
    const bytes = wire.body.byteLength + this.settings.limits.maxHeadersBytes > caps.maxMessageBytes ? wire.body.byteLength + exactHeaderBytes(wire.headers) : 0;
    if (bytes > caps.maxMessageBytes) {
      throw new MessageTooLargeError(`message ${envelope.id} is ${bytes} bytes; the ${this.transport.name} transport accepts at most ${caps.maxMessageBytes}`);
    }
    return message;
  }

  private enqueue(envelope: Envelope, delayMs: number | undefined, route: Route, spoolable: boolean): Promise<PublishReceipt> {
    if (this.closed) return Promise.reject(new ClosedError("the bus is closed"));
    let message: OutgoingMessage;
    try {
      message = this.outgoing(envelope, delayMs, route);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    // The rate limit paces what enters the queue: a burst waits here, in call order, instead of reaching the broker.
    if (this.bucket && !this.bucket.tryTake(1)) {
      return this.bucket.take(1, this.abort.signal).then(() => {
        if (this.abort.signal.aborted) throw new ClosedError("the bus closed while the publish waited for its rate limit");
        return this.push(message, spoolable);
      });
    }
    return this.push(message, spoolable);
  }

  /** Queue a message for the next batch: a method, not a closure made for every publish. */
  private push(message: OutgoingMessage, spoolable: boolean): Promise<PublishReceipt> {
    return new Promise<PublishReceipt>((resolve, reject) => {
      this.queue.push({ message, resolve, reject, spoolable: spoolable && this.router !== undefined, deadline: Date.now() + this.settings.publishTimeoutMs });
      this.schedule();
    });
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
    const router = this.router;
    while (this.queue.length > 0) {
      if (router?.mustSpool(this.queue[0]!)) {
        const head = router.spoolHead(this.queue, this.batches);
        this.queue = head.queue;
        if (!head.progressed) break;
        continue;
      }
      if (this.batches.size >= this.settings.maxInFlightBatches) break;
      // Without a spool every message goes to the broker: no per-message look at the spool.
      let n = router ? 1 : Math.min(this.queue.length, this.maxBatch);
      while (router && n < this.queue.length && n < this.maxBatch && !router.mustSpool(this.queue[n]!)) n++;
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

  private healthChanged(): void {
    if (!this.health.up) this.router?.spoolUnconfirmed(this.batches, true);
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
      const stopTimeouts = this.timeoutsInFlight(batch);
      try {
        results = await this.transport.publish(pending.map((p) => p.message));
      } catch (err) {
        stopTimeouts();
        clearTimeout(outage);
        batch.attemptInFlight = false;
        this.flusher?.release(batch.held.splice(0), false);
        if (!(await this.failed(batch, err, attempt))) return;
        continue;
      }
      stopTimeouts();
      clearTimeout(outage);
      batch.attemptInFlight = false;
      this.health.confirmed();
      this.flusher?.release(batch.held.splice(0), true);
      // Callers spooled while the attempt was in flight were resolved already (spooling replaces
      // batch.pending); the rest hear the broker's answer.
      const stillPending = batch.pending === pending ? undefined : new Set(batch.pending);
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        if (stillPending && !stillPending.has(p)) continue;
        const err = results[i];
        if (err) p.reject(err);
        else p.resolve({ id: p.message.id, outcome: "confirmed" });
      }
      batch.pending = [];
    }
  }

  /**
   * While an attempt is in flight, a caller whose publish timeout passes hears so then, not when the
   * transport gives up (its own confirm timeout, 10 s on RabbitMQ while a connection is down). The
   * transport may still deliver the message: the error says so, and its late answer is ignored.
   */
  private timeoutsInFlight(batch: Batch): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      if (batch.pending.length === 0) return;
      const next = Math.min(...batch.pending.map((p) => p.deadline));
      timer = setTimeout(() => {
        const now = Date.now();
        const overdue = batch.pending.filter((p) => p.deadline <= now);
        if (overdue.length > 0) {
          const err = this.unconfirmed(batch.lastError);
          for (const p of overdue) p.reject(err);
          // A new array: the confirm path then settles only the callers still waiting (as after spooling).
          batch.pending = batch.pending.filter((p) => p.deadline > now);
        }
        arm();
      }, Math.max(1, next - Date.now()));
    };
    arm();
    return () => clearTimeout(timer);
  }

  /** Wait until the breaker lets an attempt go; false when the batch was settled meanwhile (spooled or timed out). */
  private async permit(batch: Batch): Promise<boolean> {
    while (!this.health.permit()) {
      if (!this.health.up) this.router?.spoolUnconfirmed(this.batches, false);
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
    this.router?.spoolFailed(this.batches, batch);
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

let host: string | undefined;
function hostnameOnce(): string {
  return (host ??= hostname());
}

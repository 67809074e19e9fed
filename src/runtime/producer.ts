/**
 * The producer: validates, encodes, and hands messages to the transport in
 * batches. Concurrent `publish()` calls are grouped automatically: while one
 * batch waits for its confirm the next one fills, so many callers share one
 * broker round trip (or one SQLite commit). A batch that fails as a whole is
 * retried with exponential backoff and full jitter until the deadline, with
 * the same message ids, so a copy that did arrive is deduplicated downstream.
 */
import { ClosedError, ConfigurationError, isRetryable, PublishTimeoutError } from "../errors.js";
import { dataschemaOf, EXTENSION_NAME, KNOWN_ATTRIBUTES, NO_EXTENSIONS, type Envelope } from "../envelope/envelope.js";
import { encodeEnvelope, type ContentMode } from "../envelope/codec.js";
import type { SizeLimits } from "../envelope/limits.js";
import { uuidv7 } from "../envelope/uuidv7.js";
import { JSON_CONTENT_TYPE } from "../envelope/wire.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { validateWith } from "../contract/validate.js";
import type { Logger } from "../observability/logger.js";
import { endSend, startSend, type TraceCarrier } from "../observability/telemetry.js";
import type { OutgoingMessage, Transport } from "../transport/transport.js";
import { fullJitterDelay, sleep, type Random } from "./backoff.js";
import { toMs } from "./duration.js";
import type { PublishOptions, PublishReceipt } from "./publish-options.js";

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
}


export class Producer {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly transport: Transport,
    private readonly settings: ProducerSettings,
    private readonly random: Random,
    private readonly log: Logger,
  ) {}

  /** Validate, encode and publish; resolves after the transport's durable confirm. */
  async publish(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions = {}, route: Route = {}): Promise<PublishReceipt> {
    if (this.closed) throw new ClosedError("the bus is closed");
    const value = await validateWith(definition.schema, data, `${definition.type} v${definition.version}`);
    const id = options.id ?? uuidv7();
    const topic = route.topic ?? definition.type;
    const { span, carrier } = startSend(this.transport.name, topic, id);
    try {
      const envelope = this.envelopeFor(definition, value, options, id, carrier);
      const receipt = await this.send(envelope, options.delay === undefined ? undefined : toMs(options.delay, "delay"), route);
      endSend(span, this.transport.name, topic, undefined);
      return receipt;
    } catch (err) {
      endSend(span, this.transport.name, topic, err);
      throw err;
    }
  }

  /** Publish an already built envelope (replies, redrives, the CLI). */
  send(envelope: Envelope, delayMs?: number, route: Route = {}): Promise<PublishReceipt> {
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
    return new Promise<PublishReceipt>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.schedule();
    });
  }

  /** The envelope of a publish: `id` and trace context come from the caller's span unless the options set them. */
  envelopeFor(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions, id: string, trace: TraceCarrier = {}): Envelope {
    return buildEnvelope(this.settings.source, definition, data, options, id, trace);
  }

  /** Resolves when every accepted publish has settled. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stop accepting publishes and wait (up to `deadlineMs`) for those accepted; the rest are rejected. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(() => this.abort.abort(), deadlineMs);
    await this.drain();
    clearTimeout(timer);
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

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.settings.maxInFlightBatches) {
      const batch = this.queue.length <= this.settings.maxBatch ? this.queue : this.queue.slice(0, this.settings.maxBatch);
      this.queue = this.queue.length <= this.settings.maxBatch ? [] : this.queue.slice(this.settings.maxBatch);
      this.inFlight++;
      void this.sendBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.queue.length === 0 && this.inFlight === 0) {
          for (const w of this.drainWaiters.splice(0)) w();
        }
      });
    }
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const deadline = Date.now() + this.settings.publishTimeoutMs;
    const messages = batch.map((p) => p.message);
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await this.transport.publish(messages);
        for (let i = 0; i < batch.length; i++) {
          const err = results[i];
          if (err) batch[i]!.reject(err);
          else batch[i]!.resolve({ id: messages[i]!.id });
        }
        return;
      } catch (err) {
        const remaining = deadline - Date.now();
        if (!isRetryable(err) || remaining <= 0 || this.abort.signal.aborted) {
          const final = isRetryable(err)
            ? new PublishTimeoutError(`publish not confirmed within ${this.settings.publishTimeoutMs} ms`, { cause: err })
            : err instanceof Error ? err : new Error(String(err));
          for (const p of batch) p.reject(final);
          return;
        }
        const delay = Math.min(remaining, fullJitterDelay(attempt, { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs }, this.random));
        this.log.warn({ err, attempt, delayMs: delay, messages: batch.length }, "publish failed; retrying");
        await sleep(delay, this.abort.signal);
      }
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

/**
 * The requesting side of request-reply. One private reply topic per bus,
 * served by a temporary group; each request carries `replyto` (that topic)
 * and `correlationid` (its own id), and waits for the reply with that
 * correlation id until its timeout. A request expires at its timeout
 * (`expiresat`): a consumer that gets it later dead-letters it unhandled.
 */
import { ClosedError, RequestTimeoutError, UnknownTypeError } from "../errors.js";
import { decodeEnvelope } from "../envelope/codec.js";
import type { SizeLimits } from "../envelope/limits.js";
import { uuidv7 } from "../envelope/uuidv7.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { validateWith } from "../contract/validate.js";
import type { Logger } from "../observability/logger.js";
import type { Delivery, Subscription, Transport } from "../transport/transport.js";
import { sleep } from "./backoff.js";
import { toMs } from "./duration.js";
import type { Producer } from "./producer.js";
import type { PublishOptions } from "./publish-options.js";
import { hasReplyAddress } from "../transport/abilities.js";

/** Every bus's private reply topic starts so (one place: transports see only the address they are given). */
const REPLY_TOPIC_PREFIX = "missive.reply.";
const REPLY_PREFETCH = 64;

interface Waiting {
  readonly definition: MessageDefinition<string, unknown, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Requester {
  private readonly topic: string;
  private subscription: Promise<Subscription> | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private readonly closing = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly transport: Transport,
    private readonly producer: Producer,
    private readonly limits: SizeLimits,
    private readonly log: Logger,
  ) {
    this.topic = `${REPLY_TOPIC_PREFIX}${uuidv7()}`;
  }

  async request(
    definition: MessageDefinition<string, unknown, unknown>,
    data: unknown,
    replyDefinition: MessageDefinition<string, unknown, unknown>,
    timeoutMs: number,
    options: PublishOptions = {},
  ): Promise<unknown> {
    if (this.closing.signal.aborted) throw new ClosedError("the bus is closed");
    await this.ensureSubscribed();
    const id = options.id ?? uuidv7();
    const correlationId = id;
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new RequestTimeoutError(`no ${replyDefinition.type} reply to ${definition.type} ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, { definition: replyDefinition, resolve, reject, timer });
    });
    try {
      // Never spooled: a request waits for its reply, so one the broker cannot take now should fail now.
      // It expires with its timeout (or sooner if asked): nobody waits for the reply of a later handling.
      const expiresIn = Math.max(1, options.expiresIn === undefined ? timeoutMs : Math.min(toMs(options.expiresIn, "expiresIn"), timeoutMs));
      await this.producer.publish(definition, data, { ...options, id, correlationId, replyTo: this.topic, spool: false, expiresIn });
    } catch (err) {
      const w = this.waiting.get(correlationId);
      if (w) {
        clearTimeout(w.timer);
        this.waiting.delete(correlationId);
      }
      throw err;
    }
    return reply;
  }

  async close(): Promise<void> {
    this.closing.abort();
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new ClosedError("the bus closed before the reply came"));
      this.waiting.delete(id);
    }
    if (this.subscription) {
      // A reply subscription that never opened has nothing to close; the requests that waited on it got its error.
      const sub = await this.subscription.catch(() => undefined);
      // Closing the subscription first ends a receive() that is waiting, so the loop stops at once.
      await sub?.close();
      await this.loop;
    }
  }

  private ensureSubscribed(): Promise<Subscription> {
    if (!this.subscription) {
      const transport = this.transport;
      // A native reply address where the broker has one; otherwise a temporary group on the private topic.
      this.subscription = hasReplyAddress(transport)
        ? transport.openReplies(this.topic, REPLY_PREFETCH)
        : transport.subscribe({ group: this.topic, topics: [this.topic], prefetch: REPLY_PREFETCH, ordered: false, leaseMs: 30_000, temporary: true });
      this.subscription.then((sub) => (this.loop = this.receiveLoop(sub)), () => (this.subscription = undefined));
    }
    return this.subscription;
  }

  private async receiveLoop(sub: Subscription): Promise<void> {
    const signal = this.closing.signal;
    while (!signal.aborted) {
      let deliveries: Delivery[];
      try {
        deliveries = await sub.receive(64, 500);
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ err }, "reply receive failed; retrying");
        await sleep(200, signal);
        continue;
      }
      for (const d of deliveries) await this.handle(d);
    }
  }

  private async handle(delivery: Delivery): Promise<void> {
    const decoded = decodeEnvelope(delivery.wire, this.limits);
    const correlationId = decoded.ok ? decoded.envelope.correlationid : undefined;
    const waiting = correlationId === undefined ? undefined : this.waiting.get(correlationId);
    // A reply is acked whatever happens: a late or malformed reply has nobody to go back to.
    await delivery.ack().catch((err: unknown) => this.log.warn({ err }, "acking a reply failed"));
    if (!decoded.ok) {
      this.log.warn({ err: decoded.error }, "undecodable reply dropped");
      return;
    }
    if (!waiting) {
      this.log.debug({ correlationId }, "reply for no waiting request (timed out?) dropped");
      return;
    }
    this.waiting.delete(correlationId!);
    clearTimeout(waiting.timer);
    if (decoded.envelope.type !== waiting.definition.type) {
      waiting.reject(new UnknownTypeError(`expected a ${waiting.definition.type} reply, got ${decoded.envelope.type}`));
      return;
    }
    try {
      waiting.resolve(await validateWith(waiting.definition.schema, decoded.envelope.data, `reply ${waiting.definition.type}`));
    } catch (err) {
      waiting.reject(err as Error);
    }
  }
}

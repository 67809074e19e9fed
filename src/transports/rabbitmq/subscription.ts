/**
 * A consumer group's subscription: AMQP's push (`basic.consume`) turned into
 * the seam's pull. The broker's prefetch (`basic.qos`) is the subscription's
 * prefetch, so what the broker pushes is bounded by what the runtime may hold.
 * When the channel or the connection is lost, the subscription consumes again
 * on a new channel by itself (after the session reconnects, for a lost
 * connection); deliveries of the old channel are then lost leases. Acks are
 * coalesced per channel (ack-coalescer.ts). While it cannot consume (a
 * deleted queue, a revoked permission) it retries with jittered backoff, logs
 * (rate-limited; error when an operator must act) and reports the
 * subscription `failing`, then `resumed` once it consumes again.
 */
import { deliveredTopic } from "./delivered-topic.js";
import type { Channel } from "amqplib";
import type { Logger } from "../../observability/logger.js";
import { ClosedError, isFatal } from "../../errors.js";
import { fullJitterDelay, sleep } from "../../runtime/backoff.js";
import { FailureStreak } from "../../transport/failure-streak.js";
import type { Delivery, OutgoingMessage, PublishResult, SubscribeOptions, Subscription } from "../../transport/transport.js";
import { ChannelAcks, type Pushed } from "./ack-coalescer.js";
import { toAmqpError } from "./amqp-errors.js";
import { fromAmqpMessage, fromAmqpProperties, type IncomingHeaders, type IncomingMessage } from "./amqp-headers.js";
import { closeChannel } from "./channel-log.js";
import { DeliveryHistory } from "./delivery-history.js";
import { RabbitmqDelivery, type DeliveryHost } from "./delivery.js";
import { DIRECT_REPLY_TO } from "./names.js";
import { WakeList } from "./wake-list.js";
import type { ReleaseLedger } from "./release-ledger.js";
import type { AmqpSession } from "./session.js";
import { enqueuedAtOf, type StatusSource, type UnsettledSnapshot } from "./status-reporter.js";
import type { Topology } from "./topology.js";

/** How long the transport's close waits for settles already under way. */
const SHUTDOWN_SETTLE_MS = 5000;
/** Consuming again after a failure: at least this long, plus full jitter growing to RESTART_BACKOFF.maxMs. */
const RESTART_FLOOR_MS = 100;
const RESTART_BACKOFF = { baseMs: 200, maxMs: 5000 } as const;
/** Ids remembered for counting redeliveries: a prefetch's worth many times over (a channel dies with twice that out: held and buffered). */
const HISTORY_MIN = 1024;
const HISTORY_PER_PREFETCH = 16;

export interface SubscriptionDeps {
  readonly session: AmqpSession;
  readonly topology: Topology;
  readonly publish: (batch: readonly OutgoingMessage[]) => Promise<PublishResult[]>;
  readonly ledger: ReleaseLedger;
  readonly onFinished: (s: RabbitmqSubscription) => void;
}

export class RabbitmqSubscription implements Subscription, DeliveryHost, StatusSource {
  private channel: Channel | undefined;
  /** The live channel's acks. */
  private acks: ChannelAcks | undefined;
  private consumerTag: string | undefined;
  private readonly buffer: Pushed[] = [];
  private readonly held = new Set<RabbitmqDelivery>();
  private readonly waiters = new WakeList();
  private closed = false;
  private restarting: Promise<void> | undefined;
  private readonly offReconnect: () => void;
  private readonly settling = new Set<Promise<unknown>>();
  /** For status reports (stats' in-flight count): messages pushed so far. */
  private arrivals = 0;
  /** Consecutive failures to consume again: logged and reported as `failing`, then `resumed`. */
  private readonly failures: FailureStreak;
  /** Recent deliveries, so a redelivery after a lost channel counts only handler starts. */
  private readonly history: DeliveryHistory;

  constructor(
    private readonly deps: SubscriptionDeps,
    readonly options: SubscribeOptions,
  ) {
    const group = options.group;
    this.history = new DeliveryHistory(Math.max(HISTORY_MIN, options.prefetch * HISTORY_PER_PREFETCH));
    this.failures = new FailureStreak(deps.session.context, {
      what: `rabbitmq: consuming group ${JSON.stringify(group)}`,
      fields: { group },
      event: (state, reason) => ({ kind: "subscription", group, state: state === "failing" ? "failing" : "resumed", ...(reason === undefined ? {} : { reason }) }),
    });
    const offReconnect = deps.session.onReconnect(() => void this.restart());
    // amqplib does not always emit a channel's 'close' when its connection drops: the session tells us.
    const offLost = deps.session.onLost(() => {
      if (this.channel) this.channelLost(this.channel);
    });
    this.offReconnect = () => {
      offReconnect();
      offLost();
    };
  }

  /** Declare the group and start consuming. */
  async start(): Promise<void> {
    await this.consume();
  }

  /** The channel's `basic.qos`: the most the broker pushes unsettled. */
  private get prefetchCount(): number {
    return Math.max(1, Math.min(this.options.prefetch, 65_535));
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** What the broker has pushed here and not had settled: buffered plus held (status-reporter.ts). */
  unsettled(): UnsettledSnapshot {
    let oldestAt: number | undefined;
    const see = (at: number): void => {
      if (oldestAt === undefined || at < oldestAt) oldestAt = at;
    };
    for (const p of this.buffer) see(enqueuedAtOf(p.message));
    for (const d of this.held) see(d.enqueuedAt);
    const count = this.buffer.length + this.held.size;
    const spare = this.channel !== undefined && this.consumerTag !== undefined && !this.closed && this.buffer.length === 0 && count < this.prefetchCount;
    return { group: this.options.group, count, oldestAt, spare, arrivals: this.arrivals };
  }

  async receive(max: number, waitMs: number): Promise<Delivery[]> {
    if (this.deps.session.isClosed) throw new ClosedError("the rabbitmq transport is closed");
    const limit = Math.floor(max);
    if (!(limit >= 1) || this.closed) return [];
    const deadline = Date.now() + (Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 0);
    while (this.buffer.length === 0 && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.waiters.wait(left);
    }
    const taken: Pushed[] = [];
    while (taken.length < limit && this.buffer.length > 0) {
      const pushed = this.buffer.shift()!;
      if (!this.isLive(pushed.acks.channel)) {
        this.rememberUnhanded(pushed); // the broker has it back already
        continue;
      }
      taken.push(pushed);
    }
    // Attempts before each delivery: from memory where it can tell (delivery-history.ts), else from the release
    // ledger (a read of a stream), all of a batch's reads behind one barrier.
    const since = Date.now();
    const counted = await Promise.all(taken.map((pushed) => this.countOf(pushed, since)));
    return counted.map(({ pushed, incoming, prior }) => this.deliveryOf(pushed, incoming, prior));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offReconnect();
    this.wake();
    const ch = this.channel;
    if (ch && this.consumerTag !== undefined) {
      // A channel that died meanwhile has no consumer left to cancel.
      await ch.cancel(this.consumerTag).catch((err: unknown) => this.log.debug({ err, group: this.options.group }, "rabbitmq: cancelling the consumer failed; its channel was gone"));
    }
    // Messages pushed but never handed out go back, in their order, each recorded as a release first (like
    // Delivery.release) so its next delivery, in whichever process, does not count it as an attempt.
    const back = this.buffer.splice(0).filter((pushed) => ch !== undefined && pushed.acks.channel === ch);
    await Promise.all(back.map((pushed) => this.noteUnhanded(pushed)));
    for (const pushed of back) pushed.acks.nack(pushed, true);
    this.finishIfIdle();
  }

  /**
   * The transport is closing: settles already under way (a retry publishing its copy, a release
   * recording itself) finish first, within a bound; then the channel closes and the broker takes
   * back whatever is unsettled.
   */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.offReconnect();
    this.wake();
    if (this.settling.size > 0 && !this.deps.session.isClosed) {
      await Promise.race([Promise.allSettled([...this.settling]), sleep(SHUTDOWN_SETTLE_MS)]);
    }
    const ch = this.channel;
    this.channel = undefined;
    this.dropAcks(true);
    for (const d of this.held) d.abandon();
    // amqplib never settles a channel's close whose connection dies meanwhile: a lost connection ends the wait.
    let offLost = (): void => undefined;
    const lost = new Promise<void>((resolve) => (offLost = this.deps.session.onLost(resolve)));
    await Promise.race([closeChannel(ch, this.deps.session.context, `consumer of ${this.options.group}`), lost]);
    offLost();
  }

  // DeliveryHost
  isLive(channel: Channel): boolean {
    return this.channel === channel;
  }

  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    return this.deps.publish(batch);
  }

  settled(delivery: RabbitmqDelivery): void {
    this.held.delete(delivery);
    if (this.closed) this.finishIfIdle();
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.settling.add(work);
    const forget = (): void => void this.settling.delete(work);
    work.then(forget, forget);
    return work;
  }

  noteRelease(delivery: RabbitmqDelivery): Promise<void> {
    return this.deps.ledger.noteRelease(this.options.group, delivery.messageId, delivery.priorDeliveries);
  }

  /** Record a pushed message going back unhanded; unrecorded (attempts unknown, or the append failed) it counts as an attempt. */
  private async noteUnhanded(pushed: Pushed): Promise<void> {
    const incoming = fromAmqpProperties(pushed.message.properties);
    const id = idOf(pushed.message, incoming);
    const prior = this.history.priorOf(id, incoming.carriedAttempts, returnsOf(pushed, incoming));
    if (prior === undefined || id === "") return;
    await this.deps.ledger.noteRelease(this.options.group, id, prior).catch((err: unknown) => this.log.warn({ err, group: this.options.group }, "rabbitmq: recording a release failed; the next delivery may count it as an attempt"));
  }

  /** Its handler starts: remembered, so a redelivery after a lost channel counts this delivery as an attempt. */
  started(delivery: RabbitmqDelivery): void {
    this.history.started(delivery.messageId, delivery.priorDeliveries);
  }

  /** The headers of a pushed message and the attempts before it; a read of the release ledger only when memory cannot tell. */
  private countOf(pushed: Pushed, since: number): { pushed: Pushed; incoming: IncomingMessage; prior: number } | Promise<{ pushed: Pushed; incoming: IncomingMessage; prior: number }> {
    const message = pushed.message;
    // Headers that did not fit the header table come back from the front of the body (moved-headers.ts).
    const incoming = fromAmqpMessage(message);
    const id = idOf(message, incoming);
    const carried = incoming.carriedAttempts;
    const counted = returnsOf(pushed, incoming);
    const known = this.history.priorOf(id, carried, counted);
    if (known !== undefined) return { pushed, incoming, prior: known };
    // Not counted: a classic queue's redelivery, "at least one" return.
    const returns = counted ?? 1;
    const unseen = counted !== undefined && this.history.takeUnseen() ? 1 : 0;
    if (unseen >= returns) return { pushed, incoming, prior: carried };
    return this.deps.ledger.releasesOf(this.options.group, id, carried, carried + returns, since)
      .then((released) => ({ pushed, incoming, prior: carried + returns - Math.min(returns, released + unseen) }));
  }

  /** `prior`: deliveries of this message before this one that count as attempts. */
  private deliveryOf(pushed: Pushed, incoming: IncomingMessage, prior: number): RabbitmqDelivery {
    const message = pushed.message;
    const headers = incoming.headers;
    const replyTo = message.properties.replyTo as unknown;
    if (typeof replyTo === "string" && replyTo.startsWith(DIRECT_REPLY_TO + ".")) headers["ce-replyto"] = replyTo;
    const body = incoming.body;
    const topic = deliveredTopic(this.options.topics, message.fields.exchange, headers);
    const delivery = new RabbitmqDelivery(this, pushed, topic, this.options.group, { headers, body }, headers["ce-key"], prior + 1, prior, enqueuedAtOf(message));
    this.history.handed(delivery.messageId, incoming.carriedAttempts, returnsOf(pushed, incoming), prior);
    this.held.add(delivery);
    return delivery;
  }

  /** A message lost with its channel before it was handed out: its next delivery counts no attempt for it, when memory can tell. */
  private rememberUnhanded(pushed: Pushed): void {
    const incoming = fromAmqpProperties(pushed.message.properties);
    const id = idOf(pushed.message, incoming);
    const returns = returnsOf(pushed, incoming);
    const prior = this.history.priorOf(id, incoming.carriedAttempts, returns);
    if (prior !== undefined) this.history.handed(id, incoming.carriedAttempts, returns, prior);
  }

  private async consume(): Promise<void> {
    const { group, topics, temporary } = this.options;
    await this.deps.topology.ensureGroup(group, topics, temporary === true);
    const { model } = await this.deps.session.connection();
    const ch = await model.createChannel();
    ch.on("error", (err: unknown) => {
      // While consuming nobody else sees this (an ack of an unknown tag, a consumer timeout): warn. During
      // setup the failing call rejects with it, and the restart loop logs that.
      const consuming = this.channel === ch && this.consumerTag !== undefined;
      this.log[consuming ? "warn" : "debug"]({ err, group }, "rabbitmq: the consume channel was closed by an error; consuming again");
    });
    ch.on("close", () => this.channelLost(ch));
    await ch.prefetch(this.prefetchCount);
    const acks = new ChannelAcks(ch);
    this.channel = ch;
    this.acks = acks;
    const ok = await ch.consume(group, (message) => {
      if (message === null) {
        // Our own cancel (closing): the channel stays until what is held is settled.
        if (this.closed) return;
        // The broker cancelled the consumer (queue deleted): consume again.
        this.log.warn({ group }, "rabbitmq: the broker cancelled the consumer (was the queue deleted?); consuming again");
        this.channelLost(ch);
        void closeChannel(ch, this.deps.session.context, `consumer of ${group}`);
        return;
      }
      // amqplib still hands over what was in the socket when the channel was lost: the broker has it back already.
      if (this.channel !== ch) return this.rememberUnhanded(acks.pushed(message));
      this.buffer.push(acks.pushed(message));
      this.arrivals++;
      this.wake();
    }, { noAck: false });
    this.consumerTag = ok.consumerTag;
  }

  private channelLost(ch: Channel): void {
    if (this.channel !== ch) return;
    this.channel = undefined;
    this.history.channelLost(Math.max(0, this.prefetchCount - (this.acks?.outstanding ?? 0)));
    this.dropAcks(false);
    this.consumerTag = undefined;
    // Pushed, never handed out: the broker counts this return too, yet no handler started.
    for (const pushed of this.buffer.splice(0)) this.rememberUnhanded(pushed);
    for (const d of this.held) d.abandon();
    if (this.closed) {
      this.finishIfIdle();
      return;
    }
    // A channel closed while the connection lives (consumer timeout, a deleted queue): consume again
    // after a pause. A lost connection is picked up by onReconnect instead.
    void sleep(200).then(() => {
      if (!this.deps.session.isClosed && !this.closed && !this.channel) void this.restart();
    });
  }

  private restart(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.restarting) {
      this.restarting = (async () => {
        for (let attempt = 1; !this.closed && !this.channel && !this.deps.session.isClosed; attempt++) {
          try {
            await this.consume();
            this.failures.ok();
          } catch (err) {
            if (this.closed || this.deps.session.isClosed) break; // closing, not failing
            // 404 (queue deleted) and 403 (permission revoked) map to configuration and auth errors: an operator must act.
            const mapped = toAmqpError(err, `rabbitmq: consuming group ${JSON.stringify(this.options.group)} failed`);
            this.failures.fail(mapped, isFatal(mapped));
            // Jittered, so the consumers of a deleted queue do not all hammer the broker in step.
            await sleep(RESTART_FLOOR_MS + fullJitterDelay(attempt, RESTART_BACKOFF, Math.random));
          }
        }
      })().finally(() => (this.restarting = undefined));
    }
    return this.restarting;
  }

  private wake(): void {
    this.waiters.wake();
  }

  get log(): Logger {
    return this.deps.session.context.log;
  }

  /** The channel is going: acks still waiting go out first when it closes in order (`flush`), else never. */
  private dropAcks(flush: boolean): void {
    const acks = this.acks;
    this.acks = undefined;
    if (flush) acks?.flush();
    acks?.kill();
  }

  private finishIfIdle(): void {
    if (!this.closed || this.held.size > 0) return;
    const ch = this.channel;
    this.channel = undefined;
    this.dropAcks(true);
    void closeChannel(ch, this.deps.session.context, `consumer of ${this.options.group}`);
    if (this.options.temporary) {
      // A temporary queue is exclusive to this connection: if this delete fails, the broker drops it when the connection ends.
      void this.deps.topology.deleteGroup(this.options.group).catch((err: unknown) => this.log.debug({ err, group: this.options.group }, "rabbitmq: deleting a temporary group failed; it goes with the connection"));
    }
    this.deps.onFinished(this);
  }
}

/** The message id: the CloudEvents id, else the AMQP message-id ("" when neither: such a message is never remembered). */
function idOf(message: Pushed["message"], incoming: IncomingHeaders): string {
  return incoming.headers["ce-id"] ?? (typeof message.properties.messageId === "string" ? message.properties.messageId : "");
}

/**
 * The broker's count of earlier returns of this copy: x-delivery-count on a quorum queue (absent on the
 * first delivery, which is never `redelivered`); undefined when it is not counted (a classic queue's redelivery).
 */
function returnsOf(pushed: Pushed, incoming: IncomingHeaders): number | undefined {
  return incoming.deliveryCount ?? (pushed.message.fields.redelivered ? undefined : 0);
}

/**
 * One message received from a group's queue. Settles on the channel it
 * came on: once that channel is gone (reconnect, consumer timeout) the
 * broker has put the message back, and settling is a LeaseLostError.
 * Retries and dead letters are published with a confirm first and only then
 * is the original acked, so a crash in between leaves a duplicate, never a
 * loss. Acks go through the channel's coalescer (ack-coalescer.ts); nacks
 * are sent at once.
 */
import { wirePriority } from "../../envelope/expiry-priority.js";
import type { Channel } from "amqplib";
import { LeaseLostError } from "../../errors.js";
import { uuidv7 } from "../../envelope/uuidv7.js";
import type { WireMessage } from "../../envelope/wire.js";
import type { Delivery, OutgoingMessage, PublishResult } from "../../transport/transport.js";
import type { Pushed } from "./ack-coalescer.js";
import { ATTEMPTS_HEADER } from "./amqp-headers.js";
import { deadLetterQueueOf } from "./names.js";
import type { Logger } from "../../observability/logger.js";

/** Headers the dead-letter store keeps beside the message (private: never part of the wire headers). */
export const DlqHeaders = {
  entry: "x-missive-dlq-entry",
  at: "x-missive-dlq-at",
  topic: "x-missive-dlq-topic",
  group: "x-missive-dlq-group",
} as const;

export interface DeliveryHost {
  /** True while `channel` is the subscription's live channel. */
  isLive(channel: Channel): boolean;
  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]>;
  /** The delivery is settled: its prefetch slot is free. */
  settled(delivery: RabbitmqDelivery): void;
  /** Record that this message is given back unhandled, so its next delivery does not count this one. */
  noteRelease(delivery: RabbitmqDelivery): Promise<void>;
  /** Its handler starts now: a redelivery after a lost channel counts this delivery as an attempt (delivery-history.ts). */
  started?(delivery: RabbitmqDelivery): void;
  /** A settle under way: the transport's close waits for it (bounded) before dropping the channel. */
  track<T>(work: Promise<T>): Promise<T>;
  /**
   * An ordered subscription's: hold a keyed retry here through its delay (the message stays unacked and its
   * key blocked) instead of publishing a copy that later messages of the key would overtake.
   */
  holdRetry?(delivery: RabbitmqDelivery, delayMs: number, headers: Readonly<Record<string, string>>): void;
  /**
   * An ordered subscription's: take a released delivery back without a nack (on a quorum queue a nack
   * would put it behind later messages of its key) and hand it out again itself.
   */
  holdRelease?(delivery: RabbitmqDelivery): void;
  /** The transport's logger (the bus's, once connected). */
  readonly log: Logger;
}

export class RabbitmqDelivery implements Delivery {
  private done = false;
  /** The channel it came on is gone: the broker has the message back, and settling it is a LeaseLostError. */
  private lost = false;

  constructor(
    private readonly host: DeliveryHost,
    private readonly pushed: Pushed,
    readonly topic: string,
    readonly group: string,
    readonly wire: WireMessage,
    readonly key: string | undefined,
    readonly attempt: number,
    /** Deliveries of this message before this one, as carried on a retry copy plus broker redeliveries. */
    readonly priorDeliveries: number,
    /** Unix ms the message was enqueued (status reports). */
    readonly enqueuedAt: number,
  ) {}

  /** The broker's message and channel this delivery settles on (a held retry is handed out again on it). */
  get pushedMessage(): Pushed {
    return this.pushed;
  }

  get messageId(): string {
    return this.wire.headers["ce-id"] ?? String(this.pushed.message.properties.messageId ?? "");
  }

  /** Delivery.start: false once the channel it came on is gone (the broker has the message back, uncounted if unstarted). */
  start(): boolean {
    if (this.done) return false;
    if (!this.host.isLive(this.pushed.acks.channel)) {
      // Handed out after its channel died (abandon never saw it): settled here, as the runtime settles nothing.
      this.abandon();
      return false;
    }
    this.host.started?.(this);
    return true;
  }

  async ack(): Promise<void> {
    if (!this.begin()) return;
    this.pushed.acks.ack(this.pushed);
    this.host.settled(this);
  }

  retry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    if (this.key !== undefined && this.host.holdRetry) return this.holdRetry(delayMs, headers);
    return this.host.track(this.retryNow(delayMs, headers));
  }

  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    return this.host.track(this.deadLetterNow(headers));
  }

  release(): Promise<void> {
    return this.host.track(this.releaseNow());
  }

  private async retryNow(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    if (!this.begin()) return;
    try {
      const copy: OutgoingMessage = {
        topic: this.topic,
        id: this.messageId,
        key: this.key,
        group: this.group,
        wire: { headers: { ...headers, [ATTEMPTS_HEADER]: String(this.priorDeliveries + 1) }, body: this.wire.body },
        ...(delayMs > 0 ? { delayMs } : {}),
        ...priorityOf(headers),
      };
      await this.publishOrThrow(copy);
      this.settleOnChannel();
    } catch (err) {
      this.done = false;
      throw err;
    }
  }

  private async holdRetry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    if (!this.begin()) return;
    this.host.holdRetry!(this, delayMs, headers);
    this.host.settled(this);
  }

  private async deadLetterNow(headers: Readonly<Record<string, string>>): Promise<void> {
    if (!this.begin()) return;
    try {
      const entry: OutgoingMessage = {
        topic: this.topic,
        id: this.messageId,
        key: this.key,
        group: deadLetterQueueOf(this.group),
        wire: {
          headers: { ...headers, [DlqHeaders.entry]: uuidv7(), [DlqHeaders.at]: String(Date.now()), [DlqHeaders.topic]: this.topic, [DlqHeaders.group]: this.group },
          body: this.wire.body,
        },
      };
      await this.publishOrThrow(entry);
      this.settleOnChannel();
    } catch (err) {
      this.done = false;
      throw err;
    }
  }

  private async releaseNow(): Promise<void> {
    if (!this.begin(false)) return;
    // Unrecorded, the release counts as an attempt on the next delivery: worth a warning, not a failed release.
    await this.host.noteRelease(this).catch((err: unknown) => this.host.log.warn({ err, group: this.group }, "rabbitmq: recording a release failed; the next delivery may count it as an attempt"));
    if (this.host.holdRelease) this.host.holdRelease(this);
    else if (this.host.isLive(this.pushed.acks.channel)) this.pushed.acks.nack(this.pushed, true);
    this.host.settled(this);
  }

  /** Settled by the subscription when its channel died: the broker has the message back. */
  abandon(): void {
    if (this.done) return;
    this.done = true;
    this.lost = true;
    this.host.settled(this);
  }

  /**
   * False when already settled; throws LeaseLostError when the channel it came on is gone. `handled`: an ack,
   * retry or dead letter says the message was worked on, started or not (a consumer of the seam that never
   * calls start()), so should the settle be lost with the channel, the redelivery counts this one.
   */
  private begin(handled = true): boolean {
    if (this.lost) throw new LeaseLostError(`rabbitmq: the channel that delivered message ${this.messageId} closed; the broker redelivers it`);
    if (this.done) return false;
    if (!this.host.isLive(this.pushed.acks.channel)) {
      this.done = true;
      this.lost = true;
      this.host.settled(this);
      throw new LeaseLostError(`rabbitmq: the channel that delivered message ${this.messageId} closed; the broker redelivers it`);
    }
    this.done = true;
    if (handled) this.host.started?.(this);
    return true;
  }

  private settleOnChannel(): void {
    if (!this.host.isLive(this.pushed.acks.channel)) {
      this.host.settled(this);
      throw new LeaseLostError(`rabbitmq: the channel that delivered message ${this.messageId} closed before its ack; the broker redelivers it`);
    }
    this.pushed.acks.ack(this.pushed);
    this.host.settled(this);
  }

  private async publishOrThrow(message: OutgoingMessage): Promise<void> {
    const [result] = await this.host.publish([message]);
    if (result) throw result;
  }
}

/** A retry keeps its message's priority (binary mode: the `ce-priority` header). */
function priorityOf(headers: Readonly<Record<string, string>>): { priority?: number } {
  const priority = wirePriority(headers);
  return priority === undefined ? {} : { priority };
}

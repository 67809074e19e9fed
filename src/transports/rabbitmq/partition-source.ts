/**
 * One consuming channel of an ordered subscription (ordered-subscription.ts):
 * a partition queue, owned while this connection holds its lock (an
 * exclusive queue), or the group's own queue, shared. Pushed messages wait in
 * `buffer` until the subscription hands them out (key by key). Leaving, a
 * source never nacks: closing the channel returns everything unsettled in
 * delivery order, which a nack does not on quorum queues (ADR 007).
 */
import type { Channel } from "amqplib";
import { ChannelAcks, type Pushed } from "./ack-coalescer.js";
import { fromAmqpMessage, type IncomingMessage } from "./amqp-headers.js";
import type { AmqpSession } from "./session.js";
import { closeChannel } from "./channel-log.js";
import type { Logger } from "../../observability/logger.js";

/** RabbitMQ refuses an exclusive queue another connection holds with 405. */
const RESOURCE_LOCKED = 405;

export interface Buffered {
  readonly pushed: Pushed;
  readonly incoming: IncomingMessage;
  readonly key: string | undefined;
  /** When it arrived here (unix ms): a ledger read covers every release made before it (stream-release-ledger.ts). */
  readonly arrivedAt: number;
}

export interface SourceEvents {
  /** A message arrived. */
  pushed(source: PartitionSource): void;
  /** The channel closed without `leave()` (connection lost, consumer timeout, queue deleted). */
  lost(source: PartitionSource): void;
}

export class PartitionSource {
  readonly buffer: Buffered[] = [];
  /** Handed out (or held for a retry) and not yet settled here. */
  outstanding = 0;
  /** Handing out stopped: the source leaves once nothing is outstanding (a partition handed to another process). */
  draining = false;
  private consumerTag: string | undefined;
  private leaving = false;
  /** Its channel closed. It may close before the caller of open() has registered the source, which must check this. */
  channelClosed = false;

  private constructor(
    readonly queue: string,
    /** The partition's index, or undefined for the group's own queue. */
    readonly partition: number | undefined,
    private readonly lock: string | undefined,
    readonly channel: Channel,
    readonly acks: ChannelAcks,
    /** The transport's context: where a failed cancel or close is logged. */
    private readonly ctx: { readonly log: Logger },
  ) {}

  /**
   * Start consuming `queue`; with `lock`, only once this connection holds it (resolves "locked" when
   * another connection does: the caller retries, partition-lock-wait.ts). The lock is taken on the
   * consuming channel itself.
   */
  static async open(
    session: AmqpSession, queue: string, partition: number | undefined, lock: string | undefined, prefetch: number, events: SourceEvents,
  ): Promise<PartitionSource | "locked"> {
    const { model } = await session.connection();
    const ch = await model.createChannel();
    // Errors close the channel, and the 'close' handler below is what acts on that.
    ch.on("error", () => undefined);
    if (lock !== undefined) {
      try {
        await ch.assertQueue(lock, { exclusive: true, durable: false, autoDelete: false, arguments: { "x-queue-type": "classic" } });
      } catch (err) {
        await closeChannel(ch, session.context, "partition lock");
        if ((err as { code?: unknown }).code !== RESOURCE_LOCKED) throw err;
        session.context.log.debug({ err, lock }, "rabbitmq: a partition lock is held by another connection");
        return "locked";
      }
    }
    const source = new PartitionSource(queue, partition, lock, ch, new ChannelAcks(ch), session.context);
    ch.on("close", () => {
      source.channelClosed = true;
      if (!source.leaving) events.lost(source);
    });
    await ch.prefetch(Math.max(1, Math.min(prefetch, 65_535)));
    const ok = await ch.consume(queue, (message) => {
      // null: the broker cancelled the consumer (queue deleted); closing the channel makes it a lost source.
      if (message === null) {
        session.context.log.warn({ queue }, "rabbitmq: the broker cancelled a partition consumer (queue deleted?); its channel closes and the partition is given up");
        void closeChannel(ch, session.context, "partition");
        return;
      }
      const incoming = fromAmqpMessage(message);
      source.buffer.push({ pushed: source.acks.pushed(message), incoming, key: incoming.headers["ce-key"], arrivedAt: Date.now() });
      events.pushed(source);
    }, { noAck: false });
    source.consumerTag = ok.consumerTag;
    return source;
  }

  /** Stop the broker pushing more (closing): what is held stays held until `leave`. */
  async stopConsuming(): Promise<void> {
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (tag !== undefined) await this.channel.cancel(tag).catch((err: unknown) => this.ctx.log.debug({ err, queue: this.queue }, "rabbitmq: cancelling a partition consumer failed; its channel is gone already"));
  }

  /**
   * Give the queue back: waiting acks go out, the lock is deleted (another process may now claim the
   * partition; single active consumer keeps it waiting until this channel is gone), and the channel
   * closes, returning what it holds unsettled in delivery order.
   */
  async leave(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    this.buffer.length = 0;
    this.acks.flush();
    this.acks.kill();
    // A lock that cannot be deleted dies with the connection anyway (exclusive): debug.
    if (this.lock !== undefined) await this.channel.deleteQueue(this.lock).catch((err: unknown) => this.ctx.log.debug({ err, lock: this.lock }, "rabbitmq: deleting a partition lock failed; it goes with the connection"));
    await closeChannel(this.channel, this.ctx, "partition");
  }

  /** The channel died: nothing more to send on it. */
  dropped(): void {
    this.leaving = true;
    this.buffer.length = 0;
    this.acks.kill();
  }
}

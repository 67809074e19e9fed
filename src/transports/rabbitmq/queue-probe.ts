/**
 * Passive queue declares (ready count and consumers, or absent) on a channel
 * of their own: a probe of a missing queue closes its channel (404), which
 * must not take down the topology's or anyone else's channel with it.
 */
import type { Channel } from "amqplib";
import { toAmqpError } from "./amqp-errors.js";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

export interface QueueInfo {
  readonly messageCount: number;
  readonly consumerCount: number;
}

export class QueueProbe {
  private channel: Channel | undefined;

  constructor(private readonly session: AmqpSession) {}

  /** Ready messages and consumers of `queue`, or undefined when it does not exist. Call one at a time. */
  async info(queue: string): Promise<QueueInfo | undefined> {
    const ch = await this.open();
    try {
      const ok = await ch.checkQueue(queue);
      return { messageCount: ok.messageCount, consumerCount: ok.consumerCount };
    } catch (err) {
      this.channel = undefined;
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw toAmqpError(err, `rabbitmq: reading queue ${JSON.stringify(queue)}`);
    }
  }

  /** Whether `exchange` exists. */
  async exchangeExists(exchange: string): Promise<boolean> {
    const ch = await this.open();
    try {
      await ch.checkExchange(exchange);
      return true;
    } catch (err) {
      this.channel = undefined;
      if ((err as { code?: unknown }).code === 404) return false;
      throw toAmqpError(err, `rabbitmq: reading exchange ${JSON.stringify(exchange)}`);
    }
  }

  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    await closeChannel(ch, this.session.context, "queue probe");
  }

  private async open(): Promise<Channel> {
    if (this.channel) return this.channel;
    const { model } = await this.session.connection();
    const ch = await model.createChannel();
    logChannelErrors(ch, this.session.context, "queue probe");
    ch.on("close", () => {
      if (this.channel === ch) this.channel = undefined;
    });
    this.channel = ch;
    return ch;
  }
}

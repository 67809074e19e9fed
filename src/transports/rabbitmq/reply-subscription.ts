/**
 * The runtime's reply group, served by RabbitMQ's direct reply-to: requests
 * are published with reply address `amq.rabbitmq.reply-to` on the channel
 * that consumes it, and replies come straight back, with no queue to declare
 * or remove. Replies are unacknowledged by design (a request that loses its
 * reply times out), so settling them does nothing.
 */
import type { ConsumeMessage } from "amqplib";
import type { ReplyInbox } from "../../transport/abilities.js";
import type { Delivery } from "../../transport/transport.js";
import { fromAmqpMessage } from "./amqp-headers.js";
import { WakeList } from "./wake-list.js";

export class ReplySubscription implements ReplyInbox {
  private readonly buffer: ConsumeMessage[] = [];
  private readonly waiters = new WakeList();
  private closed = false;
  constructor(
    readonly address: string,
    private readonly prefetch: number,
    private readonly serve: (topic: string, sink: (m: ConsumeMessage) => void) => Promise<void>,
    private readonly stop: (topic: string) => void,
    private readonly onFinished: (s: ReplySubscription) => void,
  ) {}

  async start(): Promise<void> {
    await this.serve(this.address, (message) => {
      // Bounded like any subscription: beyond prefetch, a reply nobody reads is dropped (its request times out).
      if (this.closed || this.buffer.length >= Math.max(1, this.prefetch) * 4) return;
      this.buffer.push(message);
      this.waiters.wake();
    });
  }

  async receive(max: number, waitMs: number): Promise<Delivery[]> {
    const limit = Math.floor(max);
    if (!(limit >= 1) || this.closed) return [];
    if (this.buffer.length === 0 && waitMs > 0) {
      await this.waiters.wait(waitMs);
    }
    return this.buffer.splice(0, limit).map((m) => this.deliveryOf(m));
  }

  async close(): Promise<void> {
    await this.shutdown();
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop(this.address);
    this.waiters.wake();
    this.buffer.length = 0;
    this.onFinished(this);
  }

  private deliveryOf(message: ConsumeMessage): Delivery {
    const { headers, body } = fromAmqpMessage(message);
    const settle = async (): Promise<void> => undefined;
    return {
      topic: this.address,
      group: this.address,
      wire: { headers, body },
      key: headers["ce-key"],
      attempt: 1,
      ack: settle,
      retry: settle,
      deadLetter: settle,
      release: settle,
    };
  }
}

/**
 * One JetStream message handed to a consumer, settled through its ack
 * subject. Acks and naks are requests: the server's reply confirms them
 * (a plain ack is fire-and-forget and lost silently on a dropped link).
 * The first settle wins; a settle that fails on the way (a timeout) leaves
 * it held so the caller may settle again. Once the transport's connection
 * is gone (closed, or killed like a crashed process), the server takes the
 * message back when its ack wait runs out, so a settle rejects with
 * LeaseLostError.
 */
import type { WireMessage } from "../../envelope/wire.js";
import { ConfigurationError, LeaseLostError } from "../../errors.js";
import type { Delivery } from "../../transport/transport.js";

export type DeliveryStatus = "held" | "settling" | "settled";

/** What a delivery needs from its subscription: the link to the server and word when it is done. */
export interface DeliveryHost {
  /** Send `body` to the ack subject and wait for the server's reply; rejects when the link is gone. */
  settle(ackSubject: string, body: string): Promise<void>;
  /** False once the connection this delivery came on is gone for good. */
  readonly live: boolean;
  done(delivery: NatsDelivery): void;
}

export class NatsDelivery implements Delivery {
  status: DeliveryStatus = "held";
  /** JetStream's own count (num_delivered): every delivery, naks and releases included. Kept for diagnostics. */
  readonly deliveries: number;
  /** Unix ms the message was stored. */
  readonly storedAt: number;
  /** Always 0: attempts are counted by the runtime (capabilities.attempts `none`, ADR 010). */
  readonly attempt = 0;

  constructor(
    readonly topic: string,
    readonly group: string,
    readonly wire: WireMessage,
    readonly key: string | undefined,
    readonly ackSubject: string,
    meta: { deliveries: number; storedAt: number },
    private readonly host: DeliveryHost,
  ) {
    this.deliveries = meta.deliveries;
    this.storedAt = meta.storedAt;
  }

  start(): boolean {
    return this.status === "held" && this.host.live;
  }

  ack(): Promise<void> {
    return this.settle("ack", "+ACK");
  }

  retry(): Promise<void> {
    return Promise.reject(new ConfigurationError("nats: retry(delay) is the runtime's delay fill on this transport (nativeDelay is off)"));
  }

  deadLetter(): Promise<void> {
    return Promise.reject(new ConfigurationError("nats: dead letters go to the runtime's store on this transport (no NativeDeadLetters)"));
  }

  /** A nak without delay: deliverable again at once; the runtime's attempts header is unchanged, so it is not an attempt. */
  release(): Promise<void> {
    return this.settle("release", "-NAK");
  }

  /** `+WPI` (working): the server restarts this message's ack wait. */
  async renewLease(): Promise<void> {
    if (this.status !== "held") return;
    if (!this.host.live) throw this.lost("lease renewal");
    await this.host.settle(this.ackSubject, "+WPI");
  }

  private lost(what: string): LeaseLostError {
    return new LeaseLostError(`nats: ${what} of a message in group ${JSON.stringify(this.group)} failed: the connection it came on is gone, so the server redelivers it when its ack wait runs out`);
  }

  private async settle(what: string, body: string): Promise<void> {
    if (this.status !== "held") return;
    if (!this.host.live) {
      this.finish();
      throw this.lost(what);
    }
    this.status = "settling";
    try {
      await this.host.settle(this.ackSubject, body);
    } catch (err) {
      if (!this.host.live) {
        this.finish();
        throw this.lost(what);
      }
      // Not confirmed (a timeout, a reconnect): still held, so the caller may settle again.
      this.status = "held";
      throw err;
    }
    this.finish();
  }

  finish(): void {
    if (this.status === "settled") return;
    this.status = "settled";
    this.host.done(this);
  }
}

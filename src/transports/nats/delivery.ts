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
import type { AckWaiter } from "./ack-flusher.js";

export type DeliveryStatus = "held" | "settling" | "settled";

/** What a delivery needs from its subscription: the link to the server and word when it is done. */
export interface DeliveryHost {
  /** Publish a copy of `delivery` to its group's stream, confirmed, carrying `attemptsBefore` (release). */
  requeue(delivery: NatsDelivery, attemptsBefore: number): Promise<void>;
  /** Store a dead letter and wait for its confirm (dead-letter-store.ts). */
  storeDeadLetter(delivery: NatsDelivery, headers: Readonly<Record<string, string>>): Promise<void>;
  /** Send `body` to the ack subject and wait for the server's reply; rejects when the link is gone. */
  settle(ackSubject: string, body: string): Promise<void>;
  /**
   * Send `+ACK` to the delivery's ack subject; the delivery is told the outcome (AckWaiter) before the promise
   * settles. Without it, an ack is a `settle`.
   */
  ackFor?(delivery: NatsDelivery): Promise<void>;
  /** False once the connection this delivery came on is gone for good. */
  readonly live: boolean;
  done(delivery: NatsDelivery): void;
  /** Release with a nak (an ordered group's partition), not a copy. */
  releasesInPlace?(delivery: NatsDelivery): boolean;
}

export class NatsDelivery implements Delivery, AckWaiter {
  status: DeliveryStatus = "held";
  /**
   * A settle was sent, whatever came of it: one whose confirm was lost with a connection may have reached the server
   * all the same, so the server's pending count may no longer include this message (ordered-gate.ts counts it so).
   */
  settleSent = false;
  /** JetStream's own count (num_delivered): every delivery, naks and releases included. Kept for diagnostics. */
  readonly deliveries: number;
  /** Unix ms the message was stored. */
  readonly storedAt: number;
  /** The message's sequence in its stream: an ordered group hands a key's lowest first (ordered-gate.ts). */
  readonly streamSeq: number;
  /**
   * Handler starts, from 1 (capabilities.attempts `exact`): JetStream's
   * num_delivered on this copy plus the attempts of the copies before it. A
   * release is a confirmed copy plus an ack, not a nak, because a nak would
   * count in num_delivered: the copy carries this attempt minus one, so the
   * next delivery has the same attempt. A crash redelivery (ack wait run out)
   * is a new num_delivered, so it counts.
   */
  readonly attempt: number;

  constructor(
    readonly topic: string,
    readonly group: string,
    readonly wire: WireMessage,
    readonly key: string | undefined,
    readonly ackSubject: string,
    meta: { deliveries: number; storedAt: number; streamSeq: number; attemptsBefore: number },
    private readonly host: DeliveryHost,
  ) {
    this.deliveries = meta.deliveries;
    this.storedAt = meta.storedAt;
    this.streamSeq = meta.streamSeq;
    this.attempt = meta.attemptsBefore + meta.deliveries;
  }

  start(): boolean {
    return this.status === "held" && this.host.live;
  }

  /** The hot path: one per consumed message, told its outcome by the host's flush (AckWaiter), no promise of its own. */
  ack(): Promise<void> {
    if (this.host.ackFor === undefined || this.status !== "held" || !this.host.live) return this.settle("ack", "+ACK");
    this.status = "settling";
    this.settleSent = true;
    return this.host.ackFor(this);
  }

  confirmed(): void {
    this.finish();
  }

  failed(err: unknown): unknown {
    return this.notSettled("ack", err);
  }

  /**
   * A settle that failed: the link gone, the server takes the message back (settled here, a LeaseLostError);
   * else not confirmed (a timeout, a reconnect) and still held, so the caller may settle again. What to throw.
   */
  private notSettled(what: string, err: unknown): unknown {
    if (!this.host.live) {
      this.finish();
      return this.lost(what);
    }
    this.status = "held";
    return err;
  }

  retry(): Promise<void> {
    return Promise.reject(new ConfigurationError("nats: retry(delay) is the runtime's delay fill on this transport (nativeDelay is off)"));
  }

  /** Into the dead-letter stream (confirmed), then acked: a crash between the two leaves it in both, never neither. */
  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settle("dead-letter", "+ACK", () => this.host.storeDeadLetter(this, headers));
  }

  /**
   * A copy at the end of the group's own stream (deliverable at once, headers unchanged, same attempt), then an ack.
   * A partition of an ordered group naks instead (ADR 012): the copy would come after later messages of its key. The
   * nak counts in num_delivered, so the next delivery's attempt is one higher.
   */
  release(): Promise<void> {
    if (this.host.releasesInPlace?.(this) === true) return this.settle("release", "-NAK");
    return this.settle("release", "+ACK", () => this.host.requeue(this, this.attempt - 1));
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

  /**
   * Chained with then() rather than an async frame with an `await` per step: an ack runs this once per message, and
   * each await is a promise and a microtask turn more.
   */
  private settle(what: string, body: string, before?: () => Promise<void>): Promise<void> {
    if (this.status !== "held") return Promise.resolve();
    if (!this.host.live) {
      this.finish();
      return Promise.reject(this.lost(what));
    }
    this.status = "settling";
    this.settleSent = true;
    let sent: Promise<void>;
    try {
      sent = before === undefined ? this.host.settle(this.ackSubject, body) : before().then(() => this.host.settle(this.ackSubject, body));
    } catch (err) {
      sent = Promise.reject(err);
    }
    return sent.then(
      () => this.finish(),
      (err: unknown) => {
        throw this.notSettled(what, err);
      },
    );
  }

  finish(): void {
    if (this.status === "settled") return;
    this.status = "settled";
    this.host.done(this);
  }
}

/**
 * One stream entry handed to a consumer. Every settle is a script that acts
 * only while the entry is still in this consumer's pending list (ADR 011):
 * otherwise the lease went to another consumer and the settle rejects with
 * LeaseLostError. The first settle wins; one that fails on the way (the
 * connection dropped) leaves the delivery held so the caller may settle again.
 */
import type { WireMessage } from "../../envelope/wire.js";
import { ConfigurationError, LeaseLostError } from "../../errors.js";
import type { Delivery } from "../../transport/transport.js";

export type DeliveryStatus = "held" | "settling" | "settled";

/** What a delivery needs from its subscription. Each settle resolves false when the entry is no longer this consumer's. */
export interface DeliveryHost {
  ack(delivery: RedisDelivery): Promise<boolean>;
  release(delivery: RedisDelivery): Promise<boolean>;
  deadLetter(delivery: RedisDelivery, headers: Readonly<Record<string, string>>): Promise<boolean>;
  /** The handler of `delivery` starts: count it toward the entry's attempts (a claim counts only started handlers). */
  started(delivery: RedisDelivery): void;
  /** False once the transport was closed or killed: its leases run out and other consumers claim the entries. */
  readonly live: boolean;
  done(delivery: RedisDelivery): void;
}

export class RedisDelivery implements Delivery {
  status: DeliveryStatus = "held";
  /** Set when a renewal found the entry in another consumer's pending list. */
  lost = false;
  /** Handler starts of this delivery (each counted toward the entry's attempts). */
  starts = 0;

  constructor(
    readonly topic: string,
    readonly group: string,
    readonly wire: WireMessage,
    readonly key: string | undefined,
    /** The stream the entry is in, and its id there. */
    readonly stream: string,
    readonly id: string,
    /** Handler starts of this entry before this delivery, plus one (ADR 011). */
    readonly attempt: number,
    /** An entry of the group's own stream: deleted once settled (no other group reads it). */
    readonly own: boolean,
    private readonly host: DeliveryHost,
  ) {}

  start(): boolean {
    const ok = this.status === "held" && !this.lost && this.host.live;
    if (ok) {
      this.starts++;
      this.host.started(this);
    }
    return ok;
  }

  ack(): Promise<void> {
    return this.settle("ack", () => this.host.ack(this));
  }

  retry(): Promise<void> {
    return Promise.reject(new ConfigurationError("redis: retry(delay) is the runtime's delay fill on this transport (nativeDelay is off)"));
  }

  /** Into the dead-letter stream, then acked if still ours (dead-letter-store.ts). */
  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settle("dead-letter", () => this.host.deadLetter(this, headers));
  }

  /** Back in place, claimable at once by any consumer of the group, its count unchanged. */
  release(): Promise<void> {
    return this.settle("release", () => this.host.release(this));
  }

  private lostError(what: string): LeaseLostError {
    return new LeaseLostError(`redis: ${what} of entry ${this.id} in group ${JSON.stringify(this.group)} failed: its lease ran out and another consumer claimed it`);
  }

  private async settle(what: string, op: () => Promise<boolean>): Promise<void> {
    if (this.status !== "held") return;
    if (this.lost || !this.host.live) {
      this.finish();
      throw this.lostError(what);
    }
    this.status = "settling";
    let ours: boolean;
    try {
      ours = await op();
    } catch (err) {
      // Not confirmed (a dropped connection, a timeout): still held, so the caller may settle again.
      this.status = "held";
      throw err;
    }
    this.finish();
    if (!ours) throw this.lostError(what);
  }

  finish(): void {
    if (this.status === "settled") return;
    this.status = "settled";
    this.host.done(this);
  }
}

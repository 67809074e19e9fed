/**
 * One leased queue row handed to a consumer. It settles at most once: the
 * first ack/retry/deadLetter/release wins and later ones are no-ops, except
 * after a failure that changed nothing (the connection dropped), which
 * leaves it unsettled so the caller may settle again. An inbox on the same
 * pool acks it inside its own transaction (`ackWithin`), with the handler's
 * writes and the inbox row.
 */
import type { WireMessage } from "../../envelope/wire.js";
import type { Pool, PoolClient } from "pg";
import { ConfigurationError, LeaseLostError } from "../../errors.js";
import type { AckWithinTransaction, TransactionAckEnd } from "../../transport/abilities.js";
import type { Delivery } from "../../transport/transport.js";
import type { AckBatcher } from "./ack-batcher.js";
import type { LeaseRef, QueueStore } from "./queue-store.js";

export type DeliveryStatus = "held" | "settling" | "settled";

export class PgDelivery implements Delivery, LeaseRef, AckWithinTransaction {
  status: DeliveryStatus = "held";
  /** The lease was found taken by someone else while renewing. */
  lost = false;

  constructor(
    readonly topic: string,
    readonly group: string,
    readonly wire: WireMessage,
    readonly key: string | undefined,
    readonly attempt: number,
    readonly seq: string,
    readonly token: string,
    private readonly queue: QueueStore,
    private readonly acks: AckBatcher,
    private readonly onDone: (delivery: PgDelivery) => void,
    /** The transport's pool: an inbox whose transactions come from it may ack this delivery within them. */
    readonly ackScope: Pool,
  ) {}

  async ackWithin(tx: unknown): Promise<TransactionAckEnd | undefined> {
    if (this.status !== "held") return undefined;
    if (tx === null || typeof tx !== "object" || typeof (tx as Partial<PoolClient>).query !== "function") {
      throw new ConfigurationError("postgres delivery: ackWithin needs the node-postgres client of an open transaction on the transport's pool");
    }
    // Settling: the renewal leaves it alone, and no other settle starts while the transaction is open.
    this.status = "settling";
    let kept: boolean;
    try {
      kept = await this.queue.ackIn(tx as PoolClient, this);
    } catch (err) {
      this.status = "held";
      throw err;
    }
    if (!kept) {
      this.finish();
      throw new LeaseLostError(`ack of a message in group ${JSON.stringify(this.group)} inside the inbox's transaction failed: its lease expired and it was redelivered (or it was settled elsewhere)`);
    }
    return (committed) => {
      if (this.status !== "settling") return;
      if (!committed) {
        this.status = "held";
        return;
      }
      this.queue.announceAcked(this);
      this.finish();
    };
  }

  ack(): Promise<void> {
    return this.settle("ack", () => this.acks.ack(this));
  }

  retry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settle("retry", () => this.queue.retry(this, delayMs, headers));
  }

  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settle("dead-letter", () => this.queue.deadLetter(this, headers));
  }

  release(): Promise<void> {
    return this.settle("release", () => this.queue.releaseUnhandled(this));
  }

  private settle(what: string, write: () => Promise<boolean>): Promise<void> {
    if (this.status !== "held") return Promise.resolve();
    this.status = "settling";
    return write().then(
      (kept) => {
        // Settled either way: done, or the message is someone else's now.
        this.finish();
        if (!kept) {
          throw new LeaseLostError(`${what} of a message in group ${JSON.stringify(this.group)} failed: its lease expired and it was redelivered (or it was settled elsewhere)`);
        }
      },
      (err: unknown) => {
        // Nothing committed: the caller may settle again.
        this.status = "held";
        throw err;
      },
    );
  }

  private finish(): void {
    if (this.status === "settled") return;
    this.status = "settled";
    this.onDone(this);
  }
}

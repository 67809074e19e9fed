/**
 * One leased queue row handed to a consumer. It settles at most once: the
 * first ack/retry/deadLetter wins and later ones are no-ops, except after a
 * retryable failure (busy database), which leaves it unsettled so the caller
 * may settle again. The inbox can settle it inside its own transaction
 * (`settledElsewhere`).
 */
import type { WireMessage } from "../../envelope/wire.js";
import { ErrorCodes, isMissiveError } from "../../errors.js";
import type { Delivery } from "../../transport/transport.js";
import type { LeaseRef, QueueStore } from "./queue-store.js";

export type DeliveryStatus = "held" | "settling" | "settled";

export class SqliteDelivery implements Delivery, LeaseRef {
  status: DeliveryStatus = "held";
  /** The lease was found taken by someone else while renewing. */
  lost = false;

  constructor(
    readonly topic: string,
    readonly group: string,
    readonly wire: WireMessage,
    readonly key: string | undefined,
    readonly attempt: number,
    readonly seq: number,
    readonly token: string,
    /** Real path of the database file, so an inbox on the same file can ack it in its own transaction. */
    readonly fileKey: string,
    private readonly queue: QueueStore,
    private readonly onDone: (delivery: SqliteDelivery) => void,
  ) {}

  ack(): Promise<void> {
    return this.settle(() => this.queue.ack(this));
  }

  retry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settle(() => this.queue.retry(this, delayMs, headers));
  }

  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settle(() => this.queue.deadLetter(this, headers));
  }

  /** Settled by a committed transaction outside the queue store (the inbox's). */
  settledElsewhere(): void {
    // Deleting a key's head made the next row of the key claimable.
    if (this.key !== undefined) this.queue.announce(this.group);
    this.finish();
  }

  private async settle(write: () => Promise<void>): Promise<void> {
    if (this.status !== "held") return;
    this.status = "settling";
    try {
      await write();
    } catch (err) {
      // A lost lease is final; anything else (busy, closed) may be tried again.
      if (isMissiveError(err) && err.code === ErrorCodes.LEASE_LOST) this.finish();
      else this.status = "held";
      throw err;
    }
    this.finish();
  }

  private finish(): void {
    if (this.status === "settled") return;
    this.status = "settled";
    this.onDone(this);
  }
}

/**
 * One leased queue row handed to a consumer. It settles at most once: the
 * first ack/retry/deadLetter wins and later ones are no-ops, except after a
 * retryable failure (busy database), which leaves it unsettled so the caller
 * may settle again. The inbox can settle it inside its own transaction
 * (`settledElsewhere`).
 */
import type { WireMessage } from "../../envelope/wire.js";
import { LeaseLostError } from "../../errors.js";
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
    return this.settle("ack", () => this.queue.ack(this));
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

  /** Settled by a committed transaction outside the queue store (the inbox's). */
  settledElsewhere(): void {
    // Deleting a key's head made the next row of the key claimable.
    if (this.key !== undefined) this.queue.announce(this.group);
    this.finish();
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
        // Busy or closed: nothing changed, so the caller may settle again.
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

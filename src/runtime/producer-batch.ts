/** A publish waiting in the producer, and a batch of them handed to the transport. */
import type { OutgoingMessage } from "../transport/transport.js";
import type { PublishReceipt } from "./publish-options.js";

export interface Pending {
  readonly message: OutgoingMessage;
  readonly resolve: (receipt: PublishReceipt) => void;
  readonly reject: (err: Error) => void;
  /** May be resolved by a spool write (not a broker-only publish, not a reply or redrive). */
  readonly spoolable: boolean;
  /** Unix ms after which it is rejected rather than waited for. */
  readonly deadline: number;
}

/** A batch handed to the transport; its unsettled callers, and what of it was spooled meanwhile. */
export interface Batch {
  pending: Pending[];
  /** Spool positions of its messages spooled while the attempt was in flight. */
  held: number[];
  attemptInFlight: boolean;
  /** The last failure of an attempt: none yet means it was never handed to the broker. */
  lastError: unknown;
}

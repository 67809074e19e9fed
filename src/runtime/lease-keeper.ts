/**
 * Lease renewal filled in by the runtime (`leaseRenewal: "runtime"`): on a
 * broker with an ack deadline it does not extend by itself (JetStream's ack
 * wait, Redis Streams' idle time), every delivery this consumer holds
 * (running, waiting in its lane, waiting for an in-process retry, its ack
 * committing) gets `renewLease()` every `leaseMs / 3`. One timer per
 * consumer, armed only while it holds something.
 */
import type { Logger } from "../observability/logger.js";
import type { Delivery } from "../transport/transport.js";

export class LeaseKeeper {
  private readonly held = new Set<Delivery>();
  private timer: NodeJS.Timeout | undefined;
  private readonly everyMs: number;

  constructor(leaseMs: number, private readonly log: Logger, private readonly group: string) {
    this.everyMs = Math.max(1, Math.floor(leaseMs / 3));
  }

  hold(delivery: Delivery): void {
    this.held.add(delivery);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.renewAll(), this.everyMs);
      // Renewing is no reason to keep a process alive.
      this.timer.unref();
    }
  }

  drop(delivery: Delivery): void {
    this.held.delete(delivery);
    if (this.held.size === 0) this.stop();
  }

  /** Renew nothing more: what is still held is left to run out (the consumer closed). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private renewAll(): void {
    for (const delivery of this.held) {
      if (delivery.renewLease === undefined) {
        this.log.error({ group: this.group, topic: delivery.topic }, "the transport asks the runtime to renew leases but its delivery has no renewLease(); it may be redelivered while held");
        this.held.delete(delivery);
        continue;
      }
      delivery.renewLease().catch((err: unknown) => {
        // Its settle will fail with the same error and be handled there; renewing it again is pointless.
        this.held.delete(delivery);
        this.log.warn({ err, group: this.group, topic: delivery.topic }, "renewing a delivery's lease failed; it may be redelivered elsewhere");
      });
    }
  }
}

/**
 * A delivery handed out by a memory subscription. It is also the row's lease
 * holder: while the consumer holds it unsettled, the lease is renewed (it
 * never runs out) unless `leaseRenewal` is `runtime`, where it runs out
 * `leaseMs` after the claim or the last `renewLease()`; once the consumer
 * lets go without the broker applying a settle (dropped ack, SIGKILL), the
 * lease runs out `leaseMs` later.
 */
import { ClosedError, ConfigurationError, LeaseLostError } from "../../errors.js";
import type { WireMessage } from "../../envelope/wire.js";
import type { Delivery} from "../../transport/transport.js";
import type { MemoryCapabilities } from "./memory-capabilities.js";
import type { BrokerState } from "./broker-state.js";
import type { GroupQueue, LeaseHolder, Row } from "./group-queue.js";

/** What a delivery needs from the subscription and transport that handed it out. */
export interface DeliveryHost {
  readonly state: BrokerState;
  readonly group: GroupQueue;
  readonly leaseMs: number;
  readonly capabilities: MemoryCapabilities;
  /** The subscription's unsettled deliveries (prefetch accounting, crash fault). */
  readonly holding: Set<MemoryDelivery>;
  /** The transport's deliveries whose rows may still carry their lease (released on close). */
  readonly owned: Set<MemoryDelivery>;
  /** The crash fault fired on a settle: abandon everything the subscription holds. */
  crashed(): void;
}

/**
 * held: unsettled, lease renewed. done: settled, or an ack the broker dropped.
 * lost: a settle found the lease gone. abandoned: crash. closed: transport closed.
 */
type DeliveryState = "held" | "done" | "lost" | "abandoned" | "closed";

type Settle =
  | { readonly kind: "ack" }
  | { readonly kind: "retry"; readonly delayMs: number; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: "deadLetter"; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: "release" };

/** How a delivery lets go of its row without a settle. */
export type AbandonMode = "release" | "lapse" | "close";

export class MemoryDelivery implements Delivery, LeaseHolder {
  readonly topic: string;
  readonly group: string;
  readonly wire: WireMessage;
  readonly key: string | undefined;
  readonly attempt: number;
  private status: DeliveryState = "held";
  /** When the lease runs out once it is no longer renewed. */
  private lapseAt = Infinity;
  /** With `leaseRenewal: "runtime"`: when the lease of this held delivery runs out unless renewed. */
  private heldUntil = Infinity;

  constructor(
    private readonly host: DeliveryHost,
    private readonly row: Row,
  ) {
    this.topic = row.topic;
    this.group = host.group.name;
    this.wire = row.wire;
    this.key = row.key;
    this.attempt = host.capabilities.attempts === "none" ? 0 : row.attempts;
    if (host.capabilities.leaseRenewal === "runtime") this.heldUntil = host.state.now() + host.leaseMs;
  }

  isLive(now: number): boolean {
    return now < this.expiresAt();
  }

  expiresAt(): number {
    if (!this.host.capabilities.leases) return Infinity;
    return this.status === "held" ? this.heldUntil : this.lapseAt;
  }

  ack(): Promise<void> {
    return this.settleSoon({ kind: "ack" });
  }

  retry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settleSoon({ kind: "retry", delayMs, headers });
  }

  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    return this.settleSoon({ kind: "deadLetter", headers });
  }

  release(): Promise<void> {
    return this.settleSoon({ kind: "release" });
  }

  /** JetStream's working(): the lease runs `leaseMs` from now. Only `leaseRenewal: "runtime"` leases run out while held. */
  renewLease(): Promise<void> {
    return Promise.resolve().then(() => {
      if (this.status === "done") return;
      this.assertHeld();
      if (this.host.capabilities.leaseRenewal === "runtime") this.heldUntil = this.host.state.now() + this.host.leaseMs;
    });
  }

  /** For the memory inbox: throws, before anything commits, when an ack could not apply. */
  assertAckable(): void {
    if (this.status === "done") return;
    this.assertHeld();
  }

  /**
   * For the memory inbox: the ack that commits together with the inbox row.
   * The dropAck fault applies (the inbox row still committed); the crash
   * fault does not, since the ack is part of the same atomic step.
   */
  ackInTransaction(): void {
    if (this.status === "done") return;
    this.assertHeld();
    this.applyAck();
  }

  /** Let go of the row without a settle: crash fault, `transport.crash()`, `transport.close()`. */
  abandon(mode: AbandonMode): void {
    const { state, group } = this.host;
    if (this.status === "held") {
      this.status = mode === "close" ? "closed" : "abandoned";
      this.host.holding.delete(this);
    }
    if (!this.holdsLease()) {
      this.host.owned.delete(this);
      return;
    }
    if (mode === "lapse" && this.host.capabilities.leases) {
      // A killed process renews nothing: the lease runs out on its own.
      this.lapseAt = Math.min(this.lapseAt, state.now() + this.host.leaseMs);
      state.wake(group);
      return;
    }
    this.host.owned.delete(this);
    state.release(group, this.row);
  }

  /** Another claim took the row: this delivery no longer needs releasing on close. */
  forget(): void {
    this.host.owned.delete(this);
  }

  private holdsLease(): boolean {
    return !this.host.group.removed && this.host.group.has(this.row) && this.row.lease === this;
  }

  private settleSoon(settle: Settle): Promise<void> {
    // Like a broker round trip: the settle applies on a later microtask, not inside the call.
    return Promise.resolve().then(() => this.settleNow(settle));
  }

  private settleNow(settle: Settle): void {
    const caps = this.host.capabilities;
    if (settle.kind === "retry") {
      if (!caps.nativeDelay) throw new ConfigurationError("memory transport: retry() needs nativeDelay, which this transport does not have");
      if (!Number.isFinite(settle.delayMs) || settle.delayMs < 0) {
        throw new ConfigurationError(`memory transport: retry delayMs must be a non-negative number, got ${String(settle.delayMs)}`);
      }
    }
    if (settle.kind === "deadLetter" && !caps.nativeDeadLetter) {
      throw new ConfigurationError("memory transport: deadLetter() needs nativeDeadLetter, which this transport does not have");
    }
    if (this.status === "done") return;
    this.assertHeld();
    const { state, group } = this.host;
    if (state.faults.crash()) {
      state.counters.crashes++;
      this.host.crashed();
      throw new LeaseLostError(`memory transport: subscription of group ${this.group} crashed (fault) before this settle applied`);
    }
    switch (settle.kind) {
      case "ack":
        this.applyAck();
        return;
      case "retry":
        state.retry(group, this.row, settle.delayMs, settle.headers);
        break;
      case "deadLetter":
        state.deadLetter(group, this.row, settle.headers);
        break;
      case "release":
        // The claim counted an attempt the handler never made (a broker counting deliveries keeps it).
        if (caps.attempts === "exact") this.row.attempts = Math.max(0, this.row.attempts - 1);
        state.release(group, this.row);
        break;
    }
    this.finish();
  }

  private applyAck(): void {
    const { state, group } = this.host;
    if (state.faults.dropAck()) {
      // The consumer is told it worked; the row keeps this (now unrenewed) lease and comes back when it runs out.
      state.counters.droppedAcks++;
      this.status = "done";
      this.host.holding.delete(this);
      this.lapseAt = state.now() + this.host.leaseMs;
      state.wake(group);
      return;
    }
    state.ack(group, this.row);
    this.finish();
  }

  private finish(status: "done" | "lost" = "done"): void {
    this.status = status;
    this.host.holding.delete(this);
    this.host.owned.delete(this);
  }

  /** Throws unless this delivery is unsettled and still holds its row's lease. */
  private assertHeld(): void {
    switch (this.status) {
      case "closed":
        throw new ClosedError("memory transport: the transport that received this delivery is closed");
      case "lost":
      case "abandoned":
        throw new LeaseLostError(`memory transport: lease on message ${this.row.id} in group ${this.group} was lost`);
      default:
        break;
    }
    if (!this.holdsLease()) {
      this.finish("lost");
      this.host.state.wake(this.host.group);
      throw new LeaseLostError(`memory transport: lease on message ${this.row.id} in group ${this.group} was taken by another delivery`);
    }
  }
}

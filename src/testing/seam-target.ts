/**
 * What the seam suite needs from a transport under test, and what it must
 * know about it. Most of it is read from the transport itself (its
 * capabilities and which abilities it implements): `seamFeatures` derives
 * those, and the suite checks them again on every transport it opens, so a
 * target cannot declare one thing and be tested for another. The rest is
 * behaviour the seam does not expose, declared by the target.
 */
import type { WireMessage } from "../envelope/wire.js";
import { canInspectQueues, canPing, hasNativeDeadLetters, reportsDurability } from "../transport/abilities.js";
import type { Transport, TransportCapabilities } from "../transport/transport.js";

/** Behaviour the seam does not expose: the target declares it. */
export interface SeamBehaviour {
  /**
   * Deliveries are held under a lease of `leaseMs` that the transport renews
   * while the holder lives; a holder that stops renewing (a killed process)
   * loses the message after `leaseMs`, not before. Without leases a message
   * comes back only when its holder's connection drops.
   */
  readonly leases: boolean;
  /** `Delivery.attempt` counts deliveries exactly (from 1). Off: the transport reports 0 and the runtime counts. */
  readonly exactAttempts: boolean;
  /** `QueueStats.consumers` is a number (the broker can tell how many consumers a group has). Needs QueueInspection. */
  readonly countsConsumers: boolean;
}

/** Everything the suite decides by: what the transport says of itself plus its declared behaviour. */
export interface SeamFeatures extends SeamBehaviour {
  /** `capabilities.nativeDelay`. */
  readonly nativeDelay: boolean;
  /** `capabilities.ordering`. */
  readonly ordering: TransportCapabilities["ordering"];
  /** The NativeDeadLetters ability. */
  readonly nativeDeadLetters: boolean;
  /** The QueueInspection ability. */
  readonly queueInspection: boolean;
  /** The DurabilityReporting ability. */
  readonly durabilityReporting: boolean;
  /** The BrokerPing ability. */
  readonly ping: boolean;
}

/** The features of `transport` (it need not be connected), with the behaviour the target declares. */
export function seamFeatures(transport: Transport, behaviour: SeamBehaviour): SeamFeatures {
  return {
    ...behaviour,
    nativeDelay: transport.capabilities.nativeDelay,
    ordering: transport.capabilities.ordering,
    nativeDeadLetters: hasNativeDeadLetters(transport),
    queueInspection: canInspectQueues(transport),
    durabilityReporting: reportsDurability(transport),
    ping: canPing(transport),
  };
}

/** Where `features` and what `transport` says of itself disagree; empty when they agree. */
export function featureMismatches(features: SeamFeatures, transport: Transport): string[] {
  const actual = seamFeatures(transport, features);
  const out: string[] = [];
  for (const name of ["nativeDelay", "ordering", "nativeDeadLetters", "queueInspection", "durabilityReporting", "ping"] as const) {
    if (actual[name] !== features[name]) out.push(`${name}: declared ${String(features[name])}, the transport says ${String(actual[name])}`);
  }
  if (features.countsConsumers && !features.queueInspection) out.push("countsConsumers needs queueInspection");
  return out;
}

/** A client of the broker that is not this transport: its own API, raw headers and bytes. */
export interface PlainPublisher {
  /** Publish `wire` to `topic` (every group bound to it) the way a plain client of the broker would. */
  publish(topic: string, wire: WireMessage): Promise<void>;
}

/**
 * A transport under test. The suite makes every group and topic name unique
 * (a random suffix per test), closes every transport it opened after each
 * test, and then calls `afterEach`.
 */
export interface SeamTarget<T extends Transport = Transport> {
  /** Shown in test names: `seam - <name>`. */
  readonly name: string;
  readonly features: SeamFeatures;
  /**
   * A new transport on the real broker, not connected yet: another process,
   * as far as the broker can tell. A broker that cannot be reached must make
   * the test fail, never skip it.
   */
  open(): T | Promise<T>;
  /** Before each test: an isolated place on the broker if the target wants one (a vhost, a file). */
  beforeEach?(): Promise<void>;
  /** After each test, once the suite has closed its transports: remove what `beforeEach` made. */
  afterEach?(): Promise<void>;
  /**
   * Kill `transport` as SIGKILL would: nothing settled or released, its
   * connection gone. The broker takes back what it held (at once, or after
   * the lease with `leases`). Enables the crash and lease-loss tests.
   */
  crash?(transport: T): Promise<void>;
  /**
   * Make the leases `transport` holds run out now while it stays up (a
   * process that stalled past `leaseMs`), so another consumer may take the
   * messages. Only with `leases`; preferred over `crash` for the lease-loss test.
   */
  expireLeases?(transport: T): Promise<void>;
  /** A plain client of the broker: enables the test that a plain client's message arrives intact. */
  readonly plain?: PlainPublisher;
}

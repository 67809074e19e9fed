/**
 * What the conformance suite needs from a transport under test. One target
 * per transport (`memory.target.ts`, `sqlite.target.ts`, later one per
 * broker); the suite itself never changes.
 */
import type { Bus, BusOptions, TransportCapabilities, WireMessage } from "../../src/index.js";

/** A client of the broker that is not missive: raw headers and bytes, the broker's own API. */
export interface PlainClient {
  /** Publish raw headers (CloudEvents HTTP-binding names, `ce-*`) and body to a topic, to every group bound to it. */
  publish(topic: string, headers: Record<string, string>, body: Uint8Array): Promise<void>;
  /** Take (and remove) up to `max` messages queued for `group`, as the broker stores them. */
  take(group: string, max: number): Promise<WireMessage[]>;
}

export interface TargetHandle {
  /** A new bus on this broker: another process, as far as the broker can tell. */
  bus(options?: Partial<Omit<BusOptions, "transport">>): Promise<Bus>;
  readonly plain: PlainClient;
  /** Kill a bus as a crash would: nothing settled, connections dropped. */
  kill(bus: Bus): Promise<void>;
  /** Lease (visibility timeout) the suite should use so killed consumers' messages come back quickly. */
  readonly leaseMs: number;
  teardown(): Promise<void>;
}

export interface ConformanceTarget {
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** A fresh, isolated broker (or unique names on a shared one) for one test. */
  setup(): Promise<TargetHandle>;
}

/**
 * The memory transport: one connection to a memory broker. Several of them
 * on one broker behave like several processes on one broker. Capabilities
 * can be overridden per transport, and an overridden-off capability is
 * really off (no retry without nativeDelay, no dead-letter store without
 * nativeDeadLetter, no key blocking without ordering "key", no lease expiry
 * without leases, one consumer per group without consumerGroups), so the
 * runtime's fallbacks run against it.
 */
import { ClosedError, ConfigurationError, ConnectionError, MessageTooLargeError, UnroutableError } from "../../errors.js";
import type { WireMessage } from "../../envelope/wire.js";
import type {
  DeadLetterStore, DurabilityReport, OutgoingMessage, PublishResult, QueueStats, SubscribeOptions, Subscription, Transport, TransportCapabilities, TransportContext,
} from "../../transport/transport.js";
import type { DurabilityReporting, QueueInspection, ServiceReporting } from "../../transport/abilities.js";
import type { ServiceReport } from "../../transport/service-report.js";
import { seamCapabilities, type MemoryCapabilities } from "./memory-capabilities.js";
import { copyHeaders, type BrokerState } from "./broker-state.js";
import { createDeadLetterStore } from "./memory-dead-letters.js";
import { queueStats } from "./memory-stats.js";
import type { MemoryDelivery } from "./memory-delivery.js";
import { MemorySubscription } from "./memory-subscription.js";
import { exactHeaderBytes } from "../../envelope/limits.js";
import { ContextSlot } from "../../transport/context.js";

export const DEFAULT_MEMORY_CAPABILITIES: MemoryCapabilities = Object.freeze({
  nativeDelay: true,
  nativeDeadLetter: true,
  consumerGroups: true,
  ordering: "key",
  leases: true,
  maxMessageBytes: 8 * 1024 * 1024,
  priorities: true,
  attempts: "exact",
  leaseRenewal: "transport",
});

export interface MemoryTransportOverrides {
  /** Capabilities to replace (defaults: DEFAULT_MEMORY_CAPABILITIES); turning one off really disables it. */
  readonly capabilities?: Partial<MemoryCapabilities>;
}

export interface MemoryTransport extends Transport, QueueInspection, DurabilityReporting, ServiceReporting {
  /** What this connection simulates: the seam's capabilities plus what only the memory broker can turn off. */
  readonly simulated: MemoryCapabilities;
  /** Present unless `nativeDeadLetter` is turned off. */
  readonly deadLetters?: DeadLetterStore;
  /**
   * Die like a SIGKILLed process: the transport closes without settling or
   * releasing anything. With `leases`, the rows it held come back when their
   * leases run out (nobody renews them); without, at once (the broker sees
   * the connection drop). Temporary groups are removed. Later settles of its
   * deliveries reject with LeaseLostError; receive() on its subscriptions
   * waits out waitMs and resolves [] (a dead connection, not a hot loop);
   * connect, bind, publish and subscribe reject with ClosedError.
   */
  crash(): void;
}

function resolveCapabilities(overrides: Partial<MemoryCapabilities> | undefined): MemoryCapabilities {
  const caps = { ...DEFAULT_MEMORY_CAPABILITIES, ...overrides };
  if (!["key", "fifo", "none"].includes(caps.ordering)) throw new ConfigurationError(`memory transport: unknown ordering ${String(caps.ordering)}`);
  if (!["exact", "deliveries", "none"].includes(caps.attempts)) throw new ConfigurationError(`memory transport: unknown attempts ${String(caps.attempts)}`);
  if (!["transport", "runtime"].includes(caps.leaseRenewal)) throw new ConfigurationError(`memory transport: unknown leaseRenewal ${String(caps.leaseRenewal)}`);
  if (!(caps.maxMessageBytes > 0)) throw new ConfigurationError(`memory transport: maxMessageBytes must be positive, got ${String(caps.maxMessageBytes)}`);
  return Object.freeze(caps);
}

function wireBytes(wire: WireMessage): number {
  return wire.body.byteLength + exactHeaderBytes(wire.headers);
}

function validateSubscribe(options: SubscribeOptions): void {
  const fail = (what: string): never => {
    throw new ConfigurationError(`memory transport: subscribe ${what}`);
  };
  if (typeof options.group !== "string" || options.group === "") fail("needs a group name");
  if (!Number.isInteger(options.prefetch) || options.prefetch < 1) fail(`prefetch must be an integer >= 1, got ${String(options.prefetch)}`);
  if (!Number.isFinite(options.leaseMs) || options.leaseMs <= 0) fail(`leaseMs must be a positive number, got ${String(options.leaseMs)}`);
}

class MemoryTransportImpl implements MemoryTransport {
  readonly name = "memory";
  readonly capabilities: TransportCapabilities;
  /** What this connection simulates (the capabilities plus what only the memory broker can turn off). */
  readonly simulated: MemoryCapabilities;
  readonly deadLetters?: DeadLetterStore;
  private status: "new" | "open" | "closed" = "new";
  private readonly subscriptions = new Set<MemorySubscription>();
  /** Deliveries whose rows may still carry their lease: released when this transport closes. */
  private readonly owned = new Set<MemoryDelivery>();
  /** The bus's logger and reporter, once connect() received them. */
  private readonly context = new ContextSlot();

  constructor(
    private readonly state: BrokerState,
    overrides: MemoryTransportOverrides | undefined,
  ) {
    this.simulated = resolveCapabilities(overrides?.capabilities);
    this.capabilities = seamCapabilities(this.simulated);
    if (this.simulated.nativeDeadLetter) this.deadLetters = createDeadLetterStore(state);
  }

  connect(context?: TransportContext): Promise<void> {
    this.context.use(context);
    if (this.status === "closed") return Promise.reject(new ClosedError("memory transport: closed; create a new transport"));
    this.status = "open";
    return Promise.resolve();
  }

  bind(group: string, topics: readonly string[]): Promise<void> {
    return this.whenOpen(() => {
      if (typeof group !== "string" || group === "") throw new ConfigurationError("memory transport: bind needs a group name");
      this.state.bind(group, topics);
    });
  }

  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    return this.whenOpen(() => batch.map((message) => this.publishOne(message)));
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.whenOpen(() => {
      validateSubscribe(options);
      const existing = this.state.groups.get(options.group);
      if (!this.simulated.consumerGroups && existing !== undefined && existing.activeSubscriptions > 0) {
        throw new ConfigurationError(`memory transport: group ${options.group} already has a consumer, and this transport has no consumer groups`);
      }
      const group = this.state.bind(options.group, options.topics);
      if (options.temporary === true && group.activeSubscriptions === 0) group.temporary = true;
      const subscription = new MemorySubscription(this.state, group, this.simulated, this.owned, options, (s) => this.subscriptions.delete(s));
      this.subscriptions.add(subscription);
      return subscription;
    });
  }

  stats(): Promise<QueueStats[]> {
    return this.whenOpen(() => queueStats(this.state, this.simulated.nativeDeadLetter));
  }

  writeReport(report: ServiceReport): Promise<void> {
    return this.whenOpen(() => this.state.reports.append(report));
  }

  readReports(sinceMs: number): Promise<ServiceReport[]> {
    return this.whenOpen(() => this.state.reports.since(sinceMs));
  }

  /** The only truth there is: nothing outlives the process (`missive doctor`). */
  durability(): Promise<DurabilityReport> {
    return this.whenOpen(() => ({
      confirm: "publish resolves once the message is in this process's memory: nothing is written anywhere else",
      settings: { storage: "in memory, lost on exit" },
      warnings: ["the memory transport keeps everything in this process's memory: every message, confirmed or not, is lost when the process exits"],
    }));
  }

  close(): Promise<void> {
    if (this.status !== "closed") {
      this.status = "closed";
      for (const subscription of [...this.subscriptions]) subscription.shutdown("close");
      for (const delivery of [...this.owned]) delivery.abandon("close");
    }
    return Promise.resolve();
  }

  crash(): void {
    if (this.status === "closed") return;
    this.status = "closed";
    this.state.counters.crashes++;
    // A simulated crash is what a real transport reports as its connection going down.
    this.context.log.warn({}, "memory transport: crashed (simulated)");
    this.context.report({ kind: "connection", state: "down", reason: "crashed (simulated)" });
    for (const subscription of [...this.subscriptions]) subscription.shutdown("lapse");
    for (const delivery of [...this.owned]) delivery.abandon("lapse");
  }

  private publishOne(message: OutgoingMessage): PublishResult {
    const { state } = this;
    const size = wireBytes(message.wire);
    if (size > this.capabilities.maxMessageBytes) {
      return new MessageTooLargeError(`memory transport: message ${message.id} is ${size} bytes, limit is ${this.capabilities.maxMessageBytes}`);
    }
    const delayMs = message.delayMs ?? 0;
    if (message.delayMs !== undefined && !this.capabilities.nativeDelay) {
      return new ConfigurationError("memory transport: delayMs needs nativeDelay, which this transport does not have");
    }
    if (!Number.isFinite(delayMs) || delayMs < 0) return new ConfigurationError(`memory transport: delayMs must be a non-negative number, got ${String(delayMs)}`);
    const groups = state.route(message.topic, message.group);
    if (groups.length === 0) {
      state.counters.unroutable++;
      const where = message.group === undefined ? `no group is bound to topic ${message.topic}` : `group ${message.group} does not exist`;
      return new UnroutableError(`memory transport: message ${message.id} is unroutable: ${where}`);
    }
    // One copy of the headers shared by every group's row: rows replace, never edit, their wire.
    // Claims never pass an earlier row of a key only under `key` order: otherwise keyed rows keep publish order.
    const priority = this.simulated.priorities && (message.key === undefined || this.simulated.ordering === "key") ? message.priority ?? 0 : 0;
    const toEnqueue = { id: message.id, topic: message.topic, key: message.key, priority, wire: { headers: copyHeaders(message.wire.headers), body: message.wire.body } };
    for (const group of groups) state.enqueue(group, toEnqueue, delayMs);
    state.counters.published++;
    return undefined;
  }

  /** Run `fn` on a later microtask (a broker round trip) if the transport is open; reject otherwise. */
  private whenOpen<T>(fn: () => T): Promise<T> {
    if (this.status === "new") return Promise.reject(new ConnectionError("memory transport: not connected; call connect() first"));
    if (this.status === "closed") return Promise.reject(new ClosedError("memory transport: closed"));
    return Promise.resolve().then(fn);
  }
}

export function createMemoryTransport(state: BrokerState, overrides?: MemoryTransportOverrides): MemoryTransport {
  return new MemoryTransportImpl(state, overrides);
}

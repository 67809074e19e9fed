/**
 * What a bus says about its producer's health (docs/contract.md §7): status events,
 * a discriminated union on `type`, and the snapshot `bus.status()` returns.
 * Listeners are called synchronously and must not throw (a throwing
 * listener is logged and ignored: it must never break a publish).
 */
import type { Logger } from "../observability/logger.js";
import type { BreakerState } from "./circuit-breaker.js";
import type { ConsumerState } from "./consumer-lifecycle.js";
import type { SpoolDepth } from "./spool.js";
import type { TransportContext, TransportEvent } from "../transport/transport.js";

export type StatusEvent =
  /** The broker stopped confirming (an outage was detected) or confirms again. */
  | {
      readonly type: "broker";
      readonly state: "up" | "down";
      /** Unix ms of the change. */
      readonly at: number;
      /** Why it is down: the error or the confirm that did not come in time. */
      readonly reason?: string;
      /** When up again: how long it was down, ms. */
      readonly downForMs?: number;
    }
  /** The producer's circuit breaker changed state. */
  | { readonly type: "breaker"; readonly state: BreakerState; readonly at: number }
  /**
   * The spool started taking messages (`spooling`), was emptied by a flush
   * (`drained`), or refused messages for lack of room (`full`).
   */
  | { readonly type: "spool"; readonly state: "spooling" | "drained" | "full"; readonly at: number; readonly depth: SpoolDepth }
  /** The broker refused a spooled message for good while flushing (e.g. unroutable): it stays parked in the spool. */
  | { readonly type: "spool-parked"; readonly at: number; readonly messageId: string; readonly topic: string; readonly reason: string }
  /**
   * A consumer changed state (consumer-lifecycle.ts); `failed` means an error
   * stopped it and `reason` says which.
   */
  | { readonly type: "consumer"; readonly group: string; readonly state: ConsumerState; readonly at: number; readonly reason?: string }
  /** What the transport reported: its connection dropped or came back, a subscription is failing or resumed. */
  | { readonly type: "transport"; readonly at: number; readonly transport: string; readonly event: TransportEvent };

export type StatusListener = (event: StatusEvent) => void;

/** The producer's health at one moment. */
export interface ProducerStatus {
  /** `down` from a detected outage until a publish or probe is confirmed again. */
  readonly broker: "up" | "down";
  readonly breaker: BreakerState;
  /** Present when the bus has a spool. */
  readonly spool: (SpoolDepth & { readonly path: string; readonly flushing: boolean }) | undefined;
}

/** A tiny synchronous event fan-out. */
export class StatusEvents {
  private readonly listeners = new Set<StatusListener>();

  constructor(private readonly log: Logger) {}

  on(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: StatusEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err, event: event.type }, "status listener threw");
      }
    }
  }
}

/** The context a bus hands its transport: its logger, and its reports as `transport` status events. */
export function transportContext(name: string, events: StatusEvents, log: Logger): TransportContext {
  return {
    log,
    report: (event) => events.emit({ type: "transport", at: Date.now(), transport: name, event }),
  };
}

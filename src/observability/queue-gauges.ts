/**
 * What an operator (and an autoscaler such as KEDA) watches per consumer
 * group, read through the transport's queue inspection when the metrics SDK
 * collects, never on a timer of missive's own:
 *
 *   missive.queue.depth, .ready, .in_flight, .delayed   {message}
 *   missive.queue.oldest_age                             s (the lag in time)
 *   missive.queue.dead_letters                           {message}
 *   missive.queue.consumers                              {consumer}
 *
 * with `messaging.system` and `messaging.consumer.group.name`. Every process
 * of a service reports the broker's figures for every (non-temporary) group,
 * so aggregate them with `max`, not `sum`.
 */
import { metrics, type BatchObservableResult, type MeterProvider, type ObservableGauge } from "@opentelemetry/api";
import type { QueueStats } from "../transport/transport.js";
import type { Logger } from "./logger.js";
import { MISSIVE_VERSION } from "../version.js";

/** A bus whose transport can inspect its queues. */
export interface QueueSource {
  readonly system: string;
  readonly log: Logger;
  read(): Promise<readonly QueueStats[]>;
  /** Dead letters of `group` in a database store (the bus's `deadLetters`), when the transport keeps none. */
  readonly deadLetters?: (group: string) => Promise<number>;
}

type GaugeName = "depth" | "ready" | "inFlight" | "delayed" | "oldestAge" | "deadLetters" | "consumers";

const sources = new Set<QueueSource>();
let gauges: { provider: MeterProvider; byName: Record<GaugeName, ObservableGauge> } | undefined;

async function observe(result: BatchObservableResult): Promise<void> {
  const current = gauges;
  if (!current) return;
  const g = current.byName;
  await Promise.all([...sources].map(async (source) => {
    let stats;
    try {
      stats = await source.read();
    } catch (err) {
      // The broker is down: no reading this time; the connection's own status events say so.
      source.log.debug({ err, system: source.system }, "queue gauges: reading the queues failed; skipped this collection");
      return;
    }
    await Promise.all(stats.filter((s) => !s.temporary).map(async (s) => {
      const attributes = { "messaging.system": source.system, "messaging.consumer.group.name": s.group };
      result.observe(g.depth, s.depth, attributes);
      result.observe(g.ready, s.ready, attributes);
      result.observe(g.inFlight, s.inFlight, attributes);
      result.observe(g.delayed, s.delayed, attributes);
      result.observe(g.oldestAge, (s.oldestAgeMs ?? 0) / 1000, attributes);
      if (s.consumers !== undefined) result.observe(g.consumers, s.consumers, attributes);
      // A bus with a dead-letter database keeps its dead letters there, not in the transport.
      const deadLetters = source.deadLetters ? await countDeadLetters(source.deadLetters, source.log, s.group) : s.deadLetters;
      if (deadLetters !== undefined) result.observe(g.deadLetters, deadLetters, attributes);
    }));
  }));
}

async function countDeadLetters(count: (group: string) => Promise<number>, log: Logger, group: string): Promise<number | undefined> {
  try {
    return await count(group);
  } catch (err) {
    log.debug({ err, group }, "queue gauges: counting dead letters failed; skipped this collection");
    return undefined;
  }
}

/**
 * Make the gauges on the meter provider registered now. The metrics API has
 * no proxy, so this runs again whenever the provider changes (telemetry.ts
 * calls it when it notices); cheap when nothing changed.
 */
export function refreshQueueGauges(): void {
  if (sources.size === 0) return;
  const provider = metrics.getMeterProvider();
  if (gauges?.provider === provider) return;
  const meter = provider.getMeter("missive", MISSIVE_VERSION);
  const gauge = (name: string, description: string, unit = "{message}") => meter.createObservableGauge(name, { description, unit });
  const byName: Record<GaugeName, ObservableGauge> = {
    depth: gauge("missive.queue.depth", "Messages in the group's queue: ready, in flight and delayed"),
    ready: gauge("missive.queue.ready", "Messages deliverable now"),
    inFlight: gauge("missive.queue.in_flight", "Messages handed to a consumer and not settled"),
    delayed: gauge("missive.queue.delayed", "Messages waiting for a delayed publish or a retry backoff"),
    oldestAge: gauge("missive.queue.oldest_age", "Age of the oldest message in the queue: the consumer lag in time", "s"),
    deadLetters: gauge("missive.queue.dead_letters", "Entries of the group in the dead-letter store"),
    consumers: gauge("missive.queue.consumers", "Live consumers of the group, in every process", "{consumer}"),
  };
  meter.addBatchObservableCallback(observe, Object.values(byName));
  gauges = { provider, byName };
}

/** Report `source`'s queues in the gauges until the returned function is called. */
export function observeQueues(source: QueueSource): () => void {
  sources.add(source);
  refreshQueueGauges();
  return () => void sources.delete(source);
}

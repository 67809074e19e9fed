/**
 * A bus's service reports (service-report.ts): once per interval, what its
 * consumers measured (consumer-metrics.ts), the keys they hold back, the
 * keys with the most deliveries waiting, the producer's broker, breaker and
 * spool, and the lag of the outbox relays running in this process, appended
 * through the transport's ServiceReporting ability. Best-effort: a report
 * that fails is logged and the next one carries on (its interval's counts
 * are lost with it, never double-counted).
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../observability/logger.js";
import { outboxLagSources } from "../observability/telemetry.js";
import type { ServiceReporting } from "../transport/abilities.js";
import type { ConsumerGroupReport, ConsumerTypeReport, OutboxReport, ProducerReport, ServiceReport } from "../transport/service-report.js";
import type { ConsumerMetrics } from "./consumer-metrics.js";
import type { ProducerStatus } from "./status.js";

const HOST = hostname().slice(0, 128);
const HOT_KEYS = 10;
/** A final report at close waits this long at most: a broker that is gone must not hold up the bus's close. */
const CLOSE_WAIT_MS = 1000;

/** What the reporter reads from one consumer. */
export interface ReportedConsumer {
  readonly metrics: ConsumerMetrics;
  busiestKeys(limit: number): { key: string; waiting: number }[];
}

export class ServiceReporter {
  readonly id = randomUUID();
  /** Each consumer, and whether it closed (its figures go into one more report, then it is dropped). */
  private readonly consumers = new Map<ReportedConsumer, boolean>();
  private readonly timer: NodeJS.Timeout;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly sink: ServiceReporting,
    private readonly service: string,
    private readonly intervalMs: number,
    private readonly producer: () => ProducerStatus,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.report(), intervalMs).unref();
  }

  /** Report `consumer` until the returned function is called (its last figures go into the next report). */
  add(consumer: ReportedConsumer): () => void {
    this.consumers.set(consumer, false);
    return () => void (this.consumers.has(consumer) && this.consumers.set(consumer, true));
  }

  /** A last report when consumers measured something since the previous one, then stop. Call before the transport closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    // A bus that only publishes has nothing new to say: its close costs no write (and no wait on a broker that is gone).
    if (this.consumers.size > 0) this.report();
    this.closed = true;
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([this.sending, new Promise<void>((resolve) => (wait = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(wait);
  }

  private report(): void {
    if (this.closed) return;
    const at = Date.now();
    const types: ConsumerTypeReport[] = [];
    const groups = new Map<string, ConsumerGroupReport & { blockedKeys: ConsumerGroupReport["blockedKeys"][number][]; hotKeys: ConsumerGroupReport["hotKeys"][number][] }>();
    for (const [c, closed] of this.consumers) {
      if (closed) this.consumers.delete(c);
      const taken = c.metrics.take(at);
      types.push(...taken.types);
      let g = groups.get(c.metrics.group);
      if (g === undefined) groups.set(c.metrics.group, (g = { group: c.metrics.group, blockedKeys: [], hotKeys: [] }));
      g.blockedKeys.push(...taken.blocked);
      if (!closed) g.hotKeys.push(...c.busiestKeys(HOT_KEYS).map((k) => ({ ...k, oldestAt: null })));
    }
    for (const g of groups.values()) g.hotKeys.sort((a, b) => b.waiting - a.waiting).splice(HOT_KEYS);
    const producer = producerReport(this.producer());
    this.sending = this.sending.then(async () => {
      try {
        const report: ServiceReport = {
          v: 1, kind: "service", reporter: this.id, service: this.service, host: HOST, pid: process.pid, at, intervalMs: this.intervalMs,
          types, groups: [...groups.values()], producer, outboxes: await outboxes(this.log),
        };
        await this.sink.writeReport(report);
      } catch (err) {
        this.log.warn({ err }, "writing this service's report failed; its interval is missing from the dashboard's charts");
      }
    });
  }
}

function producerReport(status: ProducerStatus): ProducerReport {
  const s = status.spool;
  return {
    broker: status.broker,
    breaker: status.breaker,
    spool: s === undefined ? null : { messages: s.messages, bytes: s.bytes, parked: s.parked, oldestAt: s.oldestSpooledAt ?? null },
  };
}

async function outboxes(log: Logger): Promise<OutboxReport[]> {
  const out: OutboxReport[] = [];
  for (const source of outboxLagSources()) {
    try {
      const lag = await source.read();
      out.push({ store: source.store, table: source.table, unsent: lag.unsent, oldestAgeMs: lag.oldestAgeMs === undefined ? null : Math.round(lag.oldestAgeMs) });
    } catch (err) {
      log.debug({ err, store: source.store }, "reading an outbox's lag for the service report failed; the report goes without it");
    }
  }
  return out;
}

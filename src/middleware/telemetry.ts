/**
 * Tracing and metrics around a delivery (OTel messaging conventions): a
 * `process` span, child of the producer's, from the first attempt to the
 * settle, tagged with how the delivery ended (`missive.outcome`), and the
 * `messaging.process.duration` histogram. Outermost, so it sees the settled
 * outcome; for an ack still committing (settle.ts) it ends when that lands.
 * The span is the active one while the handler runs (with the application's
 * context manager), so the handler's spans are its children. With `metrics`
 * (the bus reports its services) the same start and one end reading feed the
 * service report's histograms (consumer-metrics.ts).
 */
import { endProcess, startProcess, withActiveSpan } from "../observability/telemetry.js";
import type { ConsumerMetrics } from "../runtime/consumer-metrics.js";
import type { Job, Outcome, StageMiddleware } from "../runtime/outcome.js";

/** The `missive.outcome` attribute: names operators' dashboards already use. */
const LABELS: Readonly<Record<Outcome["kind"], string>> = {
  "handled": "handled",
  "duplicate": "duplicate",
  "committed-then-failed": "handled",
  "failed": "failed",
  "retry": "retried",
  "leave": "retried",
  "dead-letter": "dead-lettered",
  "give-back": "given-back",
  "stop": "stopped",
  "lease-lost": "lease-lost",
  "dropped": "dropped",
  "settle-failed": "settle-failed",
};

export function telemetryStage(system: string, group: string, metrics?: ConsumerMetrics): StageMiddleware {
  const t = deliveryTelemetry(system, group, metrics);
  return (next) => (job) => {
    t.start(job);
    // Active around the rest of the pipeline, so the handler's own spans and ctx.publish join this trace.
    // Chained with then(), not an async function: this runs once per message, and an async frame costs more than the closure.
    return withActiveSpan(job.span, next, job).then((outcome) => t.end(job, outcome));
  };
}

/**
 * The telemetry stage's two halves, for the fused default pipeline (fused-pipeline.ts) to call in its own
 * continuation: `start` reads the clock and starts the span (both kept on the job), `end` records the outcome
 * now, or when the ack still committing in `job.settling` lands, and returns the outcome.
 */
export interface DeliveryTelemetry {
  start(job: Job): void;
  end(job: Job, outcome: Outcome): Outcome;
  /** Record the delivery's settled outcome now (what `end` does, or chains to `job.settling`); returns it. */
  record(job: Job, settled: Outcome): Outcome;
}

export function deliveryTelemetry(system: string, group: string, metrics?: ConsumerMetrics): DeliveryTelemetry {
  const record = (job: Job, outcome: Outcome): Outcome => {
    const deadLetterReason = outcome.kind === "dead-letter" ? outcome.reason : undefined;
    const endedAt = performance.now();
    metrics?.record(job.envelope.type, outcome.kind, job.startedAt, endedAt, job.envelope.time);
    endProcess(job.span, system, job.delivery.topic, group, job.envelope.type, endedAt - job.startedAt, LABELS[outcome.kind], "error" in outcome ? outcome.error : undefined, deadLetterReason);
    return outcome;
  };
  return {
    record,
    start(job) {
      job.startedAt = performance.now();
      job.span = startProcess(system, job.delivery.topic, group, job.envelope.id, job.attempt, job.envelope);
    },
    end(job, outcome) {
      const settling = job.settling;
      if (settling === undefined) return record(job, outcome);
      job.settling = settling.then((settled) => record(job, settled));
      return outcome;
    },
  };
}

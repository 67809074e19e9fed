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
  return (next) => (job) => {
    const startedAt = performance.now();
    const span = startProcess(system, job.delivery.topic, group, job.envelope.id, job.attempt, job.envelope);
    // Active around the rest of the pipeline, so the handler's own spans and ctx.publish join this trace.
    // Chained with then(), not an async function: this runs once per message, and an async frame costs more than the closure.
    return withActiveSpan(span, next, job).then((outcome) => {
      const settling = job.settling;
      if (settling === undefined) {
        end(span, system, group, job, startedAt, outcome, metrics);
        return outcome;
      }
      job.settling = settling.then((settled) => {
        end(span, system, group, job, startedAt, settled, metrics);
        return settled;
      });
      return outcome;
    });
  };
}

function end(span: ReturnType<typeof startProcess>, system: string, group: string, job: Job, startedAt: number, outcome: Outcome, metrics: ConsumerMetrics | undefined): void {
  const deadLetterReason = outcome.kind === "dead-letter" ? outcome.reason : undefined;
  const endedAt = performance.now();
  metrics?.record(job.envelope.type, outcome.kind, startedAt, endedAt, job.envelope.time);
  endProcess(span, system, job.delivery.topic, group, job.envelope.type, endedAt - startedAt, LABELS[outcome.kind], "error" in outcome ? outcome.error : undefined, deadLetterReason);
}

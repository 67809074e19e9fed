/**
 * Traces and metrics through the OpenTelemetry API only (the application
 * brings the SDK). Names follow the OTel messaging semantic conventions:
 * `send <destination>` and `process <destination>` spans, the
 * `messaging.client.sent.messages` / `messaging.client.consumed.messages`
 * counters and the `messaging.process.duration` histogram. Trace context
 * crosses the broker in the envelope's `traceparent` / `tracestate`.
 * Without an SDK every call here is the API's no-op: nothing is recorded.
 */
import {
  context, createNoopMeter, INVALID_SPAN_CONTEXT, INVALID_TRACEID, isSpanContextValid, metrics, propagation, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Attributes, type BatchObservableResult, type Counter, type Histogram, type MeterProvider, type ObservableGauge, type Span,
} from "@opentelemetry/api";
import { MISSIVE_VERSION } from "../version.js";
import { refreshQueueGauges } from "./queue-gauges.js";

// The tracer is the API's proxy: it follows an SDK registered later.
const tracer = trace.getTracer("missive", MISSIVE_VERSION);

/** The tracer provider behind the API's proxy while no SDK registered one: a fresh proxy has no delegate and answers with it. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
/**
 * The span the API's no-op tracer makes for a delivery with no trace around it (no valid parent): it records
 * nothing and every call on it does nothing, so one serves every such delivery instead of a new one each.
 */
export const NO_TRACE_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** True while no SDK registered a tracer provider: the tracer is the API's no-op one. */
function tracingOff(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_TRACER_PROVIDER;
}

interface Instruments {
  readonly provider: MeterProvider;
  /** The provider is the API's no-op one (no SDK): recording is skipped, and so are the attribute objects for it. */
  readonly noop: boolean;
  readonly sent: Counter;
  readonly consumed: Counter;
  readonly processDuration: Histogram;
  readonly redelivered: Counter;
  readonly deadLettered: Counter;
}
let instruments: Instruments | undefined;

/**
 * The metrics API has no proxy: a meter taken before the application
 * registers its SDK stays a no-op for good. So instruments are made from the
 * provider registered now, and made again when that provider changes.
 */
function meters(): Instruments {
  const provider = metrics.getMeterProvider();
  if (instruments?.provider !== provider) {
    const meter = provider.getMeter("missive", MISSIVE_VERSION);
    instruments = {
      provider,
      noop: meter === createNoopMeter(),
      sent: meter.createCounter("messaging.client.sent.messages", { description: "Messages confirmed by the broker", unit: "{message}" }),
      consumed: meter.createCounter("messaging.client.consumed.messages", { description: "Messages handed to a handler", unit: "{message}" }),
      processDuration: meter.createHistogram("messaging.process.duration", { description: "Handler duration, settle included", unit: "s" }),
      // Over messaging.client.consumed.messages: the redelivery ratio.
      redelivered: meter.createCounter("missive.consumer.redelivered.messages", { description: "Deliveries past a message's first attempt", unit: "{message}" }),
      deadLettered: meter.createCounter("missive.consumer.dead_lettered.messages", { description: "Messages dead-lettered, by reason", unit: "{message}" }),
    };
    // The queue gauges live on the same provider: made again with the instruments.
    refreshQueueGauges();
  }
  return instruments;
}

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** What startSend answers without an SDK or a trace around the publish: shared, read only (nothing to inject). */
const NO_TRACE_SEND: { readonly span: Span; readonly carrier: Readonly<TraceCarrier> } = Object.freeze({ span: NO_TRACE_SPAN, carrier: Object.freeze({}) });

/**
 * Start a `send` span and return the trace context to put on the message. Without an SDK and with no active
 * context it allocates nothing: the no-op tracer's span would have the invalid context, which no propagator
 * injects, yet the attributes, the span, a context with its Map and a carrier were made per publish for it.
 */
export function startSend(system: string, destination: string, messageId: string): { readonly span: Span; readonly carrier: Readonly<TraceCarrier> } {
  const parent = context.active();
  if (parent === ROOT_CONTEXT && tracingOff()) return NO_TRACE_SEND;
  const span = tracer.startSpan(`send ${destination}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      "messaging.system": system,
      "messaging.operation.name": "send",
      "messaging.operation.type": "send",
      "messaging.destination.name": destination,
      "messaging.message.id": messageId,
    },
  }, parent);
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  return { span, carrier };
}

/**
 * A `create` span for a message written now and sent later (the outbox: the
 * row is added in the caller's transaction, a relay publishes it). It is a
 * child of the caller's active span and ends at once; the returned trace
 * context travels in the message, so the consumer's `process` span joins the
 * trace of the request that wrote the row.
 */
export function createSpan(destination: string, messageId: string): TraceCarrier {
  const parent = context.active();
  const span = tracer.startSpan(`create ${destination}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      "messaging.operation.name": "create",
      "messaging.operation.type": "create",
      "messaging.destination.name": destination,
      "messaging.message.id": messageId,
    },
  }, parent);
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  span.end();
  return carrier;
}

export function endSend(span: Span, system: string, destination: string, error: unknown): void {
  if (error === undefined) {
    const m = meters();
    // Without a meter provider nothing records: no attribute object per publish.
    if (!m.noop) m.sent.add(1, { "messaging.system": system, "messaging.destination.name": destination });
  }
  if (span !== NO_TRACE_SPAN) end(span, error);
}

/**
 * Start a `process` span, child of the producer's context carried in the message. Without an SDK (no meter
 * provider, no tracer provider, nothing extracted or active) it allocates nothing: it runs per delivery, and the
 * attribute objects only an SDK would read were most of its cost.
 */
export function startProcess(system: string, destination: string, group: string, messageId: string, attempt: number, carrier: TraceCarrier): Span {
  const active = context.active();
  const parent = propagation.extract(active, carrier);
  const m = meters();
  if (!m.noop) {
    const counted = { "messaging.system": system, "messaging.destination.name": destination, "messaging.consumer.group.name": group };
    m.consumed.add(1, counted);
    if (attempt > 1) m.redelivered.add(1, counted);
  }
  // What the no-op tracer would make from a root parent: a span with the invalid context (NoopTracer.startSpan).
  if (parent === ROOT_CONTEXT && tracingOff()) return NO_TRACE_SPAN;
  const attributes: Attributes = {
    "messaging.system": system,
    "messaging.operation.name": "process",
    "messaging.operation.type": "process",
    "messaging.destination.name": destination,
    "messaging.consumer.group.name": group,
    "messaging.message.id": messageId,
    "messaging.message.delivery_attempt": attempt,
  };
  return tracer.startSpan(`process ${destination}`, { kind: SpanKind.CONSUMER, attributes }, parent);
}

/**
 * Run `fn(arg)` with `span` as the active span: spans the handler starts are
 * its children and `ctx.publish` continues its trace. Needs the application's
 * context manager (an SDK registers one); without it this just calls `fn`.
 * A span with no valid context (the API's no-op tracer, without an SDK or a
 * trace to continue) would make nothing a child of anything: `fn` just runs,
 * without a context made for it (a copy of the active one per call).
 */
export function withActiveSpan<A, R>(span: Span, fn: (arg: A) => R, arg: A): R {
  if (span === NO_TRACE_SPAN) return fn(arg);
  const spanContext = span.spanContext();
  // The no-op tracer's span without a parent has the all-zero trace id: compared first, before the validity check's regular expressions.
  if (spanContext.traceId === INVALID_TRACEID || !isSpanContextValid(spanContext)) return fn(arg);
  return context.with(trace.setSpan(context.active(), span), fn, undefined, arg);
}

/** True when a span is active here: a publish from here continues its trace through the `send` span. */
export function hasActiveSpan(): boolean {
  const active = trace.getSpanContext(context.active());
  return active !== undefined && isSpanContextValid(active);
}

/** A process span's end: `type` is the message type (the duration per type), `deadLetterReason` set when it was dead-lettered. */
export function endProcess(span: Span, system: string, destination: string, group: string, type: string, durationMs: number, outcome: string, error: unknown, deadLetterReason?: string): void {
  const m = meters();
  // Without an SDK nothing below records (the shared span ends as a no-op): no attribute object per delivery.
  if (span === NO_TRACE_SPAN && m.noop) return;
  span.setAttribute("missive.outcome", outcome);
  const attributes: Attributes = {
    "messaging.system": system,
    "messaging.destination.name": destination,
    "messaging.consumer.group.name": group,
    "missive.message.type": type,
  };
  // Added when there is an error rather than spread in: no throwaway object per message.
  if (error !== undefined) attributes["error.type"] = error instanceof Error ? error.name : "unknown";
  m.processDuration.record(durationMs / 1000, attributes);
  if (deadLetterReason !== undefined) {
    m.deadLettered.add(1, { "messaging.system": system, "messaging.destination.name": destination, "messaging.consumer.group.name": group, "missive.dead_letter.reason": deadLetterReason });
  }
  end(span, error);
}

function end(span: Span, error: unknown): void {
  if (error !== undefined && span.isRecording()) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
    if (error instanceof Error) span.recordException(error);
  }
  span.end();
}

/** A running outbox relay's lag, read when the metrics SDK collects. */
export interface LagSource {
  /** The store, e.g. `postgres outbox`, and its table: the gauges' attributes. */
  readonly store: string;
  readonly table: string;
  read(): Promise<{ readonly unsent: number; readonly oldestAgeMs: number | undefined }>;
}

const lagSources = new Set<LagSource>();
let lagGauges: { provider: MeterProvider; unsent: ObservableGauge; age: ObservableGauge } | undefined;

async function observeLag(result: BatchObservableResult): Promise<void> {
  const gauges = lagGauges;
  if (!gauges) return;
  await Promise.all([...lagSources].map(async (source) => {
    let lag;
    try {
      lag = await source.read();
    } catch {
      return; // the database is down: no reading this time (the relay logs its own failures)
    }
    const attributes = { "missive.outbox.store": source.store, "missive.outbox.table": source.table };
    result.observe(gauges.unsent, lag.unsent, attributes);
    result.observe(gauges.age, (lag.oldestAgeMs ?? 0) / 1000, attributes);
  }));
}

/**
 * `missive.outbox.unsent` and `missive.outbox.oldest_age` (s) gauges for the
 * running relays. Like the counters, they follow an SDK registered late:
 * callers refresh on every relay round.
 */
function ensureLagGauges(): void {
  const provider = metrics.getMeterProvider();
  if (lagGauges?.provider === provider) return;
  const meter = provider.getMeter("missive", MISSIVE_VERSION);
  const unsent = meter.createObservableGauge("missive.outbox.unsent", { description: "Outbox rows not yet confirmed by the transport", unit: "{message}" });
  const age = meter.createObservableGauge("missive.outbox.oldest_age", { description: "Age of the oldest unsent outbox row: the relay lag", unit: "s" });
  meter.addBatchObservableCallback(observeLag, [unsent, age]);
  lagGauges = { provider, unsent, age };
}

/** The outbox relays running in this process (the bus's service report lists their lag). */
export function outboxLagSources(): readonly LagSource[] {
  return [...lagSources];
}

/** Report `source` in the lag gauges until the returned function is called. */
export function observeOutboxLag(source: LagSource): () => void {
  lagSources.add(source);
  ensureLagGauges();
  return () => void lagSources.delete(source);
}

/** Pick up a meter provider registered since the gauges were made (cheap when nothing changed). */
export function refreshOutboxLag(): void {
  if (lagSources.size > 0) ensureLagGauges();
}

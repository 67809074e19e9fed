/**
 * A minimal OpenTelemetry tracer and W3C propagator for tests: the library
 * uses the API only, so a test registers this to see what it records.
 */
import {
  context, propagation, trace, type Attributes, type AttributeValue, type Context, type Span, type SpanContext, type SpanOptions,
  type SpanStatus, type TextMapGetter, type TextMapPropagator, type TextMapSetter, type Tracer, type TracerProvider,
} from "@opentelemetry/api";
import { randomBytes } from "node:crypto";

export interface RecordedSpan {
  readonly name: string;
  readonly kind: number | undefined;
  readonly context: SpanContext;
  readonly parentSpanId: string | undefined;
  readonly attributes: Record<string, AttributeValue | undefined>;
  status: SpanStatus | undefined;
  ended: boolean;
}

class RecordingSpan implements Span {
  constructor(private readonly record: RecordedSpan) {}
  spanContext(): SpanContext { return this.record.context; }
  setAttribute(key: string, value: AttributeValue): this { this.record.attributes[key] = value; return this; }
  setAttributes(attributes: Attributes): this { Object.assign(this.record.attributes, attributes); return this; }
  addEvent(): this { return this; }
  addLink(): this { return this; }
  addLinks(): this { return this; }
  setStatus(status: SpanStatus): this { this.record.status = status; return this; }
  updateName(): this { return this; }
  end(): void { this.record.ended = true; }
  isRecording(): boolean { return !this.record.ended; }
  recordException(): void {}
}

export function installRecordingTracer(): { spans: RecordedSpan[]; uninstall(): void } {
  const spans: RecordedSpan[] = [];
  const tracer = {
    startSpan(name: string, options: SpanOptions = {}, ctx?: Context): Span {
      // Like the SDK: without an explicit parent, the active context's span is the parent.
      const parent = trace.getSpanContext(ctx ?? context.active());
      const record: RecordedSpan = {
        name,
        kind: options.kind,
        context: { traceId: parent?.traceId ?? randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), traceFlags: 1 },
        parentSpanId: parent?.spanId,
        attributes: { ...options.attributes },
        status: undefined,
        ended: false,
      };
      spans.push(record);
      return new RecordingSpan(record);
    },
    startActiveSpan(): never { throw new Error("not used by missive"); },
  } as unknown as Tracer;
  const provider: TracerProvider = { getTracer: () => tracer };
  const propagator: TextMapPropagator = {
    inject(ctx: Context, carrier: unknown, setter: TextMapSetter) {
      const sc = trace.getSpanContext(ctx);
      if (sc) setter.set(carrier, "traceparent", `00-${sc.traceId}-${sc.spanId}-01`);
    },
    extract(ctx: Context, carrier: unknown, getter: TextMapGetter) {
      const raw = getter.get(carrier, "traceparent");
      const m = typeof raw === "string" ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(raw) : null;
      return m ? trace.setSpanContext(ctx, { traceId: m[1]!, spanId: m[2]!, traceFlags: 1, isRemote: true }) : ctx;
    },
    fields: () => ["traceparent"],
  };
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(propagator);
  return {
    spans,
    uninstall() {
      trace.disable();
      propagation.disable();
    },
  };
}

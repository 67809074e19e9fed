/**
 * Building a message's CloudEvents envelope, shared by the producer (at
 * publish) and the outbox (at add): the attributes from the contract and the
 * options, checked user extensions, and the caller's trace context.
 */
import { ConfigurationError, EncodeError } from "../errors.js";
import { dataschemaOf, EXTENSION_NAME, KNOWN_ATTRIBUTES, NO_EXTENSIONS, type Envelope } from "../envelope/envelope.js";
import { JSON_CONTENT_TYPE } from "../envelope/wire.js";
import { formatExpiresAt, isPriority } from "../envelope/expiry-priority.js";
import type { MessageDefinition } from "../contract/define-message.js";
import type { TraceCarrier } from "../observability/telemetry.js";
import { toMs } from "./duration.js";
import type { PublishOptions } from "./publish-options.js";

/**
 * The envelope of a message of `definition` from `source` (the producer's, and
 * the outbox's at add time): `id` and trace context come from the caller's
 * span unless the options set them.
 */
export function buildEnvelope(source: string, definition: MessageDefinition<string, unknown, unknown>, data: unknown, options: PublishOptions, id: string, trace: TraceCarrier = {}): Envelope {
  const key = options.key ?? keyOf(definition, data);
  const traceparent = options.traceparent ?? trace.traceparent;
  const tracestate = options.tracestate ?? trace.tracestate;
  // Optional attributes are assigned only when set (never as undefined), in the envelope's usual order.
  const envelope = {
    id,
    source,
    type: definition.type,
    specversion: "1.0",
    time: isoNow(),
    datacontenttype: JSON_CONTENT_TYPE,
    dataschema: dataschemaFor(definition),
  } as Mutable<Envelope>;
  if (key !== undefined) envelope.key = String(key);
  if (options.correlationId !== undefined) envelope.correlationid = options.correlationId;
  if (options.causationId !== undefined) envelope.causationid = options.causationId;
  if (options.replyTo !== undefined) envelope.replyto = options.replyTo;
  if (traceparent !== undefined) envelope.traceparent = traceparent;
  if (tracestate !== undefined) envelope.tracestate = tracestate;
  const expiresInMs = options.expiresIn === undefined ? definition.expiresInMs : positiveMs(options.expiresIn);
  if (expiresInMs !== undefined) envelope.expiresat = formatExpiresAt(Date.now() + expiresInMs);
  const priority = options.priority ?? definition.priority;
  if (priority !== undefined) {
    if (!isPriority(priority)) throw new ConfigurationError(`priority must be an integer from 0 to 9, got ${JSON.stringify(priority)}`);
    envelope.priority = PRIORITY_TEXT[priority]!;
  }
  envelope.extensions = options.extensions ? checkedExtensions(options.extensions) : NO_EXTENSIONS;
  envelope.data = data;
  return envelope;
}

/** The contract's key of `data`; a key function that throws is the publish's EncodeError, its error the cause. */
function keyOf(definition: MessageDefinition<string, unknown, unknown>, data: unknown): string | undefined {
  try {
    return definition.keyOf(data);
  } catch (cause) {
    throw new EncodeError(`the key function of ${definition.type} threw`, { cause });
  }
}

/**
 * A contract's `dataschema`, made once per definition: one string object message after message, which the
 * encoder's check of the last good value then matches by identity instead of comparing a new string's characters.
 */
const dataschemas = new WeakMap<MessageDefinition<string, unknown, unknown>, string>();
function dataschemaFor(definition: MessageDefinition<string, unknown, unknown>): string {
  let schema = dataschemas.get(definition);
  if (schema === undefined) {
    schema = dataschemaOf(definition.type, definition.version);
    dataschemas.set(definition, schema);
  }
  return schema;
}

/** "0" … "9", made once. */
const PRIORITY_TEXT = Array.from({ length: 10 }, (_, i) => String(i));

function positiveMs(expiresIn: NonNullable<PublishOptions["expiresIn"]>): number {
  const ms = toMs(expiresIn, "expiresIn");
  if (ms <= 0) throw new ConfigurationError("expiresIn must be positive");
  return ms;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// The envelope's `time`, formatted once per millisecond rather than once per message.
let isoMs = Number.NaN;
let isoText = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** User extensions, checked: CloudEvents names that are not attributes of their own, string values. */
function checkedExtensions(given: Readonly<Record<string, string>>): Record<string, string> {
  const extensions: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(given)) {
    if (!EXTENSION_NAME.test(name) || KNOWN_ATTRIBUTES.has(name)) throw new ConfigurationError(`invalid CloudEvents extension name ${JSON.stringify(name)}`);
    const value = given[name];
    if (typeof value !== "string") throw new ConfigurationError(`extension ${name} must be a string`);
    extensions[name] = value;
  }
  return extensions;
}

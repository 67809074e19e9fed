/**
 * The CloudEvents AMQP binding at the transport's edge: missive's wire
 * headers (`ce-*`, `content-type`, others) to AMQP properties and
 * application headers (`cloudEvents_*`), and back. Headers that arrive from
 * the network are untrusted: any AMQP field type becomes a string, names are
 * lower-cased into a null-prototype record, and the broker's own bookkeeping
 * headers (x-death, x-delivery-count, …) are not part of the message. What a
 * header name becomes is worked out once per distinct name (a bounded cache),
 * not once per message.
 */
import type { MessagePropertyHeaders, Options } from "amqplib";
import { CE_PREFIX, CONTENT_TYPE, emptyHeaders } from "../../envelope/wire.js";
import { restoreMoved } from "./moved-headers.js";

/** The CloudEvents AMQP binding's prefix for attributes (the `:` form is also read). */
export const AMQP_CE_PREFIX = "cloudEvents_";
const AMQP_CE_PREFIX_LOWER = AMQP_CE_PREFIX.toLowerCase();
const AMQP_CE_PREFIX_COLON = "cloudevents:";
/** Headers the transport itself carries across a retry copy; never shown to the runtime. */
export const PRIVATE_PREFIX = "x-missive-";
/** Deliveries before this copy (crash redeliveries and retries), carried on retry copies. */
export const ATTEMPTS_HEADER = "x-missive-attempts";

/** Broker bookkeeping, not message headers. */
const BROKER_HEADERS = new Set([
  "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
  "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count", "x-stream-offset",
]);

/** What a received header name is: a wire header (its lower-cased name), or one of these. */
const SKIP = 0;
const DELIVERY_COUNT = 1;
const ATTEMPTS = 2;
type NameRule = string | typeof SKIP | typeof DELIVERY_COUNT | typeof ATTEMPTS;
/** Names seen so far and their rule; bounded, so names a hostile sender makes up only ever take the slow path. */
const rules = new Map<string, NameRule>();
const RULES_MAX = 1024;

function ruleOf(rawName: string): NameRule {
  let rule = rules.get(rawName);
  if (rule === undefined) {
    rule = ruleFor(rawName.toLowerCase());
    if (rules.size < RULES_MAX) rules.set(rawName, rule);
  }
  return rule;
}

function ruleFor(name: string): NameRule {
  if (name === "x-delivery-count") return DELIVERY_COUNT;
  if (name === ATTEMPTS_HEADER) return ATTEMPTS;
  if (BROKER_HEADERS.has(name) || name.startsWith(PRIVATE_PREFIX)) return SKIP;
  if (name.startsWith(AMQP_CE_PREFIX_LOWER)) return CE_PREFIX + name.slice(AMQP_CE_PREFIX.length);
  if (name.startsWith(AMQP_CE_PREFIX_COLON)) return CE_PREFIX + name.slice(AMQP_CE_PREFIX_COLON.length);
  return name;
}

/** AMQP publish options for wire headers: persistent, CloudEvents attributes as `cloudEvents_*`, content type as the property. */
export function toAmqpProperties(headers: Readonly<Record<string, string>>, extra?: Record<string, string | number>): Options.Publish {
  const amqpHeaders: Record<string, string | number> = {};
  let contentType: string | undefined;
  let messageId: string | undefined;
  for (const name in headers) {
    const value = headers[name]!;
    if (name === CONTENT_TYPE) contentType = value;
    else if (name.startsWith(CE_PREFIX)) {
      const attribute = name.slice(CE_PREFIX.length);
      if (attribute === "id") messageId = value;
      amqpHeaders[AMQP_CE_PREFIX + attribute] = value;
    } else amqpHeaders[name] = value;
  }
  if (extra) for (const name in extra) amqpHeaders[name] = extra[name]!;
  const options: Options.Publish = { persistent: true, headers: amqpHeaders, timestamp: Math.floor(Date.now() / 1000) };
  if (contentType !== undefined) options.contentType = contentType;
  if (messageId !== undefined) options.messageId = messageId;
  return options;
}

export interface IncomingHeaders {
  readonly headers: Record<string, string>;
  /** Deliveries of earlier copies of this message (ATTEMPTS_HEADER), 0 when none. */
  readonly carriedAttempts: number;
  /** The broker's x-delivery-count (quorum queues): returns of this copy. */
  readonly deliveryCount: number | undefined;
}

/** Wire headers from a received message's properties. */
export function fromAmqpProperties(properties: { readonly headers?: MessagePropertyHeaders | undefined; readonly contentType?: unknown }): IncomingHeaders {
  const out = emptyHeaders();
  let carriedAttempts = 0;
  let deliveryCount: number | undefined;
  const source = properties.headers;
  if (source !== undefined && source !== null && typeof source === "object") {
    for (const rawName of Object.keys(source)) {
      const value: unknown = (source as Record<string, unknown>)[rawName];
      const rule = ruleOf(rawName);
      if (typeof rule === "string") {
        if (value !== undefined && value !== null) out[rule] = typeof value === "string" ? value : stringOf(value);
      } else if (rule === DELIVERY_COUNT) {
        const n = Number(value);
        if (Number.isSafeInteger(n) && n >= 0) deliveryCount = n;
      } else if (rule === ATTEMPTS) {
        const n = Number(value);
        if (Number.isSafeInteger(n) && n >= 0 && n < 1_000_000) carriedAttempts = n;
      }
    }
  }
  if (typeof properties.contentType === "string") out[CONTENT_TYPE] = properties.contentType;
  return { headers: out, carriedAttempts, deliveryCount };
}

export interface IncomingMessage extends IncomingHeaders {
  readonly body: Uint8Array;
}

/**
 * Wire headers and body of a received message, with headers that did not fit its header table put back
 * from the front of its body (moved-headers.ts): the message as it was before it was published.
 */
export function fromAmqpMessage(message: { readonly properties: Parameters<typeof fromAmqpProperties>[0]; readonly content: Buffer }): IncomingMessage {
  const incoming = fromAmqpProperties(message.properties);
  const content = message.content;
  const raw = new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
  const restored = restoreMoved(message.properties.headers, raw);
  if (restored === undefined) return { ...incoming, body: raw };
  // What the table carries wins: it holds missive's current diagnostics; the moved headers fill in the rest.
  const headers = incoming.headers;
  for (const name in restored.headers) if (!(name in headers)) headers[name] = restored.headers[name]!;
  return { ...incoming, headers, body: restored.body };
}

/** Any AMQP field value as text: strings as they are, bytes as UTF-8, tables and arrays as JSON. */
function stringOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "";
  } catch {
    return String(value);
  }
}

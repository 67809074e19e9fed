/**
 * A message as transports carry it: string headers and a byte body.
 * CloudEvents attributes use the HTTP binding's names (`ce-id`, …,
 * `content-type` for datacontenttype); a transport renames them to its own
 * protocol binding (`cloudEvents_` on AMQP, none on MQTT 5) at its edge.
 */
export interface WireMessage {
  /** A null-prototype record: names from the network are never looked up on Object.prototype. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export const CE_PREFIX = "ce-";
export const CONTENT_TYPE = "content-type";
export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";
export const JSON_CONTENT_TYPE = "application/json";

/** Copy untrusted headers into a null-prototype record of strings, names lower-cased. */
export function toHeaderRecord(source: Iterable<readonly [string, unknown]>): Record<string, string> {
  const out = emptyHeaders();
  for (const [name, value] of source) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = typeof value === "string" ? value : Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  }
  return out;
}

/**
 * A record for headers with no prototype: a header named `__proto__` or
 * `constructor` is a plain own property, and no name is looked up on
 * Object.prototype. Made from `{}` rather than `Object.create(null)`: V8
 * makes every `Object.create(null)` a hash dictionary, while this object
 * stays in fast mode, where adding, reading and listing headers (done several
 * times per message) costs about half as much.
 */
export function emptyHeaders(): Record<string, string> {
  return Object.setPrototypeOf({}, null) as Record<string, string>;
}

/**
 * The envelope: CloudEvents 1.0 attributes around one message's data.
 * Context attributes are strings; `data` is the decoded payload.
 */
export interface Envelope<T = unknown> {
  /** UUIDv7, unique per message; kept across retries and redrives (the inbox keys on it). */
  readonly id: string;
  /** The producing service, as a URI-reference (`missive({ service })`). */
  readonly source: string;
  /** The message type, e.g. `order.created`. */
  readonly type: string;
  readonly specversion: "1.0";
  /** RFC 3339 creation time. */
  readonly time: string;
  readonly datacontenttype: string;
  /** `<type>/v<version>`: which contract version the data follows. */
  readonly dataschema: string;
  /** Ordering and partition key (CloudEvents extension `key`). */
  readonly key?: string;
  readonly correlationid?: string;
  readonly causationid?: string;
  /** Where a reply to this message goes (request-reply). */
  readonly replyto?: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /**
   * RFC 3339 time after which the message is not handled but dead-lettered
   * with reason `expired` (extension `expiresat`; `publish({ expiresIn })`,
   * a contract's `expiresIn`, a request's timeout).
   */
  readonly expiresat?: string;
  /** `0`–`9`, higher first; absent means 0 (extension `priority`; docs/expiry-priority.md). */
  readonly priority?: string;
  /** Further CloudEvents extension attributes, lower-case names, string values. */
  readonly extensions: Readonly<Record<string, string>>;
  readonly data: T;
}

/** Attribute names that are not extensions. */
export const KNOWN_ATTRIBUTES: ReadonlySet<string> = new Set([
  "id", "source", "type", "specversion", "time", "datacontenttype", "dataschema",
  "key", "correlationid", "causationid", "replyto", "traceparent", "tracestate", "expiresat", "priority", "data", "data_base64", "subject",
]);

/** A CloudEvents extension attribute name (lower-case letters and digits, at most 20). */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** The extensions of an envelope that has none: shared, so publishing without extensions allocates nothing. */
export const NO_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** `order.created` + 2 → `order.created/v2`. */
export function dataschemaOf(type: string, version: number): string {
  return `${type}/v${version}`;
}

/** The version in a dataschema, or undefined when it does not name one. */
export function versionOf(dataschema: string | undefined): number | undefined {
  if (dataschema === undefined) return undefined;
  const m = /\/v(\d{1,9})$/.exec(dataschema);
  return m ? Number(m[1]) : undefined;
}

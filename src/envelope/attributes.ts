/**
 * What a CloudEvents attribute value may be, in one place: the decoder
 * refuses (dead-letters) a message that breaks a rule, and the encoder
 * refuses to publish one, so publish never confirms what a consumer refuses.
 *
 * CloudEvents 1.0: `id`, `source`, `type` are non-empty strings; `subject`
 * and `dataschema` non-empty when present; `time` an RFC 3339 timestamp;
 * every String attribute free of control characters. missive adds: `id` and
 * `type` at most 256 characters, `expiresat` RFC 3339, `priority` one digit.
 * `traceparent`/`tracestate` are W3C headers, not attributes: tracing
 * ignores a malformed one, as W3C Trace Context says to.
 */
import type { Envelope } from "./envelope.js";
import { parseExpiresAt, parsePriority } from "./expiry-priority.js";
import { isRfc3339 } from "./rfc3339.js";

/** Longest `id` and `type`, in characters. */
export const MAX_ID_LENGTH = 256;

/** C0, DEL and C1: CloudEvents' String type excludes them, and they forge log lines and headers. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** A regular expression, not a loop over char codes: V8 runs it in native code, about twice as fast on ids and types. */
function hasControlCharacter(value: string): boolean {
  return CONTROL_CHARACTER.test(value);
}

// `time` is the same text for every message published in one millisecond, and a message `type`, a
// service's `source`, its content type and a contract's `dataschema` the same on message after message:
// remember the last good value of each, so a repeat costs one string comparison instead of a regular expression.
let lastGoodTime: string | undefined;
let lastGoodType: string | undefined;
let lastGoodSource: string | undefined;
let lastGoodDataschema: string | undefined;
let lastGoodContentType: string | undefined;

/**
 * Why `value` is not a valid value of attribute `name` (a known attribute or
 * an extension), or undefined when it is. The reason names the attribute.
 */
export function attributeProblem(name: string, value: string): string | undefined {
  switch (name) {
    case "id":
      return idOrTypeProblem(name, value);
    case "type": {
      if (value === lastGoodType) return undefined;
      const problem = idOrTypeProblem(name, value);
      if (problem === undefined) lastGoodType = value;
      return problem;
    }
    case "source":
      if (value === lastGoodSource) return undefined;
      if (value.length === 0) return `attribute ${name} is empty`;
      if (hasControlCharacter(value)) return `attribute ${name} has a control character`;
      lastGoodSource = value;
      return undefined;
    case "dataschema":
      if (value === lastGoodDataschema) return undefined;
      if (value.length === 0) return `attribute ${name} is empty`;
      if (hasControlCharacter(value)) return `attribute ${name} has a control character`;
      lastGoodDataschema = value;
      return undefined;
    case "datacontenttype":
      if (value === lastGoodContentType) return undefined;
      if (hasControlCharacter(value)) return `attribute ${name} has a control character`;
      lastGoodContentType = value;
      return undefined;
    case "subject":
      if (value.length === 0) return `attribute ${name} is empty`;
      break;
    case "time":
      if (value === lastGoodTime) return undefined;
      if (!isRfc3339(value)) return `attribute time ${quote(value)} is not an RFC 3339 time`;
      lastGoodTime = value;
      return undefined;
    case "expiresat":
      return parseExpiresAt(value) === undefined ? `attribute expiresat ${quote(value)} is not an RFC 3339 time` : undefined;
    case "priority":
      return parsePriority(value) === undefined ? `attribute priority ${quote(value)} is not an integer from 0 to 9` : undefined;
    case "traceparent":
    case "tracestate":
      return undefined;
  }
  return hasControlCharacter(value) ? `attribute ${name} has a control character` : undefined;
}

function idOrTypeProblem(name: string, value: string): string | undefined {
  if (value.length === 0) return `attribute ${name} is empty`;
  if (value.length > MAX_ID_LENGTH) return `attribute ${name} is longer than ${MAX_ID_LENGTH} characters`;
  return hasControlCharacter(value) ? `attribute ${name} has a control character` : undefined;
}

function quote(value: string): string {
  return JSON.stringify(value.slice(0, 40));
}

/** The attributes a decoder reads and checks, in the order they are checked. */
export const CHECKED_ATTRIBUTES = [
  "id", "source", "type", "time", "datacontenttype", "dataschema", "subject", "key", "correlationid", "causationid", "replyto", "expiresat", "priority",
] as const;

/**
 * Why an envelope about to be encoded would be refused by a consumer's
 * decoder, or undefined. `time` and `dataschema` empty mean absent (a
 * decoded message without them has them empty) and are not written.
 */
export function envelopeProblem(envelope: Envelope): string | undefined {
  if (envelope.specversion !== "1.0") return `attribute specversion ${quote(String(envelope.specversion))} is not 1.0`;
  for (const name of CHECKED_ATTRIBUTES) {
    const value = (envelope as unknown as Readonly<Record<string, unknown>>)[name];
    if (value === undefined || (value === "" && (name === "time" || name === "dataschema"))) continue;
    if (typeof value !== "string") return `attribute ${name} is not a string`;
    const problem = attributeProblem(name, value);
    if (problem !== undefined) return problem;
  }
  for (const name in envelope.extensions) {
    const value: unknown = envelope.extensions[name];
    if (typeof value !== "string") return `extension ${name} is not a string`;
    const problem = attributeProblem(name, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

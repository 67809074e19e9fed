/**
 * Search inside a dead letter's payload: `orderId=o-42` matches a message
 * whose data has `orderId` equal to `o-42`; a dotted path reaches into
 * nested objects and arrays (`customer.id=c-7`, `lines.0.sku=X`). bull-board
 * users have asked for this since 2021: the id an incident report names is a
 * field of the payload, not the message id.
 *
 * The data is read as a consumer reads it (the envelope decoded, so a
 * structured CloudEvent's `data` is searched, not its wrapper); a body that
 * does not decode is searched as plain JSON, and a binary one never matches.
 */
import { decodeEnvelope } from "../envelope/codec.js";
import { DEFAULT_LIMITS } from "../envelope/limits.js";
import { decodeUtf8, parseJsonSafely } from "../envelope/safe-json.js";
import type { DeadLetter } from "../transport/transport.js";
import { DashboardRequestError } from "./request-error.js";

export interface PayloadSearch {
  readonly path: readonly string[];
  readonly value: string;
}

/** `field=value` (the value may contain `=`); a DashboardRequestError (400) when it is not that shape. */
export function parsePayloadSearch(text: string): PayloadSearch {
  const at = text.indexOf("=");
  const field = at < 0 ? "" : text.slice(0, at).trim();
  if (field === "" || field.length > 200) throw new DashboardRequestError(400, "search must be field=value, e.g. orderId=o-42");
  const path = field.split(".");
  if (path.some((p) => p === "" || p === "__proto__" || p === "constructor" || p === "prototype")) {
    throw new DashboardRequestError(400, `search field ${JSON.stringify(field)} is not a path of plain names`);
  }
  return { path, value: text.slice(at + 1).trim() };
}

/** The message's data as its consumer would see it, or undefined when the body cannot be read as JSON. */
export function payloadOf(entry: DeadLetter): unknown {
  const decoded = decodeEnvelope(entry.wire, DEFAULT_LIMITS);
  if (decoded.ok) return decoded.envelope.data;
  try {
    return parseJsonSafely(decodeUtf8(entry.wire.body)) ?? undefined;
  } catch {
    // Not UTF-8 JSON (binary, or a hostile document): there is no field to match.
    return undefined;
  }
}

export function matchesPayload(entry: DeadLetter, search: PayloadSearch): boolean {
  let value: unknown = payloadOf(entry);
  for (const name of search.path) {
    if (value === null || typeof value !== "object" || !Object.prototype.hasOwnProperty.call(value, name)) return false;
    value = (value as Record<string, unknown>)[name];
  }
  if (value === null || typeof value === "object") return false;
  return String(value) === search.value;
}

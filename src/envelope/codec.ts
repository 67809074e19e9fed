import { DecodeError, EncodeError, MissiveError } from "../errors.js";
import { CHECKED_ATTRIBUTES, attributeProblem, envelopeProblem } from "./attributes.js";
import { EXTENSION_NAME, KNOWN_ATTRIBUTES, NO_EXTENSIONS, type Envelope } from "./envelope.js";
import { checkBodySize, checkHeaderTotals, checkLimits, headerSize, type SizeLimits } from "./limits.js";
import { decodeUtf8, parseJsonSafely, unsendableData } from "./safe-json.js";
import { CE_PREFIX, CONTENT_TYPE, JSON_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, emptyHeaders, type WireMessage } from "./wire.js";

export type ContentMode = "binary" | "structured";

/** Attributes of the binary mode that live in headers; `datacontenttype` is `content-type`. */
const HEADER_ATTRIBUTES = ["id", "source", "type", "specversion", "time", "dataschema", "key", "correlationid", "causationid", "replyto", "expiresat", "priority"] as const;
const W3C_HEADERS = ["traceparent", "tracestate"] as const;
/** Header name → attribute for every known attribute (`ce-id` → `id`), so decoding slices and hashes no new string for them. */
const ATTRIBUTE_OF_HEADER: ReadonlyMap<string, string> = new Map([...KNOWN_ATTRIBUTES].map((attr) => [CE_PREFIX + attr, attr]));

/**
 * Encode an envelope. Throws EncodeError for what a consumer's decoder would
 * refuse (an attribute, data too deep or JSON cannot carry) and
 * MessageTooLargeError when it breaks the limits: the same rules, so what
 * encodes decodes.
 */
export function encodeEnvelope(envelope: Envelope, mode: ContentMode, limits: SizeLimits, extraHeaders?: Readonly<Record<string, string>>): WireMessage {
  const attributeIssue = envelopeProblem(envelope);
  if (attributeIssue !== undefined) throw new EncodeError(`message ${describeId(envelope.id)} cannot be published: ${attributeIssue}`);
  try {
    // In structured mode the data sits one level down, inside the CloudEvents document.
    const dataIssue = unsendableData(envelope.data, mode === "binary" ? 0 : 1);
    if (dataIssue !== undefined) throw new EncodeError(`message ${describeId(envelope.id)} cannot be published: ${dataIssue}`);
    return encodeChecked(envelope, mode, limits, extraHeaders);
  } catch (err) {
    if (err instanceof MissiveError) throw err;
    // A getter, proxy trap or toJSON that throws: the data cannot be read, so it cannot be sent.
    throw new EncodeError(`message ${describeId(envelope.id)} cannot be published: its data could not be serialised as JSON`, { cause: err });
  }
}

/** A decoded message without `time` or `dataschema` has them empty: re-encoded, they stay absent (CloudEvents refuses them empty). */
function absentWhenEmpty(attr: string, value: string): boolean {
  return value === "" && (attr === "time" || attr === "dataschema");
}

function describeId(id: unknown): string {
  return typeof id === "string" ? JSON.stringify(id.slice(0, 64)) : String(typeof id);
}

function encodeChecked(envelope: Envelope, mode: ContentMode, limits: SizeLimits, extraHeaders: Readonly<Record<string, string>> | undefined): WireMessage {
  const headers = emptyHeaders();
  if (extraHeaders) for (const name in extraHeaders) headers[name] = extraHeaders[name]!;
  let body: Uint8Array;
  if (mode === "binary") {
    attributeHeaders(envelope, headers);
    for (const name in envelope.extensions) headers[CE_PREFIX + name] = envelope.extensions[name]!;
    headers[CONTENT_TYPE] = envelope.datacontenttype;
    body = Buffer.from(JSON.stringify(envelope.data ?? null));
  } else {
    const doc: Record<string, unknown> = {};
    for (const attr of HEADER_ATTRIBUTES) {
      const value = envelope[attr];
      if (value !== undefined && !absentWhenEmpty(attr, value)) doc[attr] = value;
    }
    for (const name in envelope.extensions) doc[name] = envelope.extensions[name];
    doc["datacontenttype"] = envelope.datacontenttype;
    doc["data"] = envelope.data ?? null;
    headers[CONTENT_TYPE] = STRUCTURED_CONTENT_TYPE;
    body = Buffer.from(JSON.stringify(doc));
  }
  for (const name of W3C_HEADERS) {
    const value = envelope[name];
    if (value !== undefined) headers[name] = value;
  }
  checkLimits(headers, body.byteLength, limits);
  return { headers, body };
}

/**
 * The binary mode's attribute headers, in HEADER_ATTRIBUTES' order, each a named load and store: a loop over
 * the names made each a keyed access by a varying name, the costliest part of encoding a message's headers.
 */
function attributeHeaders(envelope: Envelope, headers: Record<string, string>): void {
  const { id, source, type, specversion, time, dataschema, key, correlationid, causationid, replyto, expiresat, priority } = envelope;
  if (id !== undefined) headers["ce-id"] = id;
  if (source !== undefined) headers["ce-source"] = source;
  if (type !== undefined) headers["ce-type"] = type;
  if (specversion !== undefined) headers["ce-specversion"] = specversion;
  if (time !== undefined && !absentWhenEmpty("time", time)) headers["ce-time"] = time;
  if (dataschema !== undefined && !absentWhenEmpty("dataschema", dataschema)) headers["ce-dataschema"] = dataschema;
  if (key !== undefined) headers["ce-key"] = key;
  if (correlationid !== undefined) headers["ce-correlationid"] = correlationid;
  if (causationid !== undefined) headers["ce-causationid"] = causationid;
  if (replyto !== undefined) headers["ce-replyto"] = replyto;
  if (expiresat !== undefined) headers["ce-expiresat"] = expiresat;
  if (priority !== undefined) headers["ce-priority"] = priority;
}

/** What could be read of a message that failed to decode, for dead-letter diagnostics. */
export interface DecodeFailure {
  readonly ok: false;
  readonly error: MissiveError;
  readonly id?: string;
  readonly type?: string;
}
export interface DecodeSuccess {
  readonly ok: true;
  readonly envelope: Envelope;
}
export type DecodeResult = DecodeSuccess | DecodeFailure;

/** Decode a wire message. Never throws: every failure is returned, classified. */
export function decodeEnvelope(wire: WireMessage, limits: SizeLimits): DecodeResult {
  const h = wire.headers;
  try {
    checkBodySize(wire.body.byteLength, limits);
    const contentType = h[CONTENT_TYPE];
    // Plain `application/json`, nearly every binary message, is not the structured type: no lower-casing.
    if (contentType !== JSON_CONTENT_TYPE && (contentType ?? "").toLowerCase().startsWith(STRUCTURED_CONTENT_TYPE)) {
      checkLimits(h, wire.body.byteLength, limits);
      return decodeStructured(wire, h);
    }
    // The binary decoder checks the header limits in its own walk of the headers.
    return decodeBinary(wire, h, contentType ?? JSON_CONTENT_TYPE, limits);
  } catch (err) {
    const error = err instanceof MissiveError ? err : new DecodeError("message could not be decoded", { cause: err });
    return failure(error, h["ce-id"], h["ce-type"]);
  }
}

function failure(error: MissiveError, id: unknown, type: unknown): DecodeFailure {
  const out: { ok: false; error: MissiveError; id?: string; type?: string } = { ok: false, error };
  if (typeof id === "string" && id.length <= 256) out.id = id;
  if (typeof type === "string" && type.length <= 256) out.type = type;
  return out;
}

function decodeBinary(wire: WireMessage, h: Readonly<Record<string, string>>, contentType: string, limits: SizeLimits): DecodeResult {
  let headersSize = 0;
  let headerCount = 0;
  let otherCeHeaders = 0;
  let id: string | undefined;
  let source: string | undefined;
  let type: string | undefined;
  let specversion: string | undefined;
  let time: string | undefined;
  let dataschema: string | undefined;
  let key: string | undefined;
  let correlationid: string | undefined;
  let causationid: string | undefined;
  let replyto: string | undefined;
  let expiresat: string | undefined;
  let priority: string | undefined;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  // One walk reads every attribute as it checks the sizes: walking a record's keys is the costly part (and a record
  // a transport made with Object.create(null) is a dictionary, where each load by name is a hash lookup), so it is
  // done once, not once plus a dozen lookups by name. A name compared in the switch is an internalized string: a
  // pointer comparison.
  for (const name in h) {
    const value = h[name]!;
    headersSize += headerSize(name, value, limits);
    headerCount++;
    switch (name) {
      case "ce-id": id = value; break;
      case "ce-source": source = value; break;
      case "ce-type": type = value; break;
      case "ce-specversion": specversion = value; break;
      case "ce-time": time = value; break;
      case "ce-dataschema": dataschema = value; break;
      case "ce-key": key = value; break;
      case "ce-correlationid": correlationid = value; break;
      case "ce-causationid": causationid = value; break;
      case "ce-replyto": replyto = value; break;
      case "ce-expiresat": expiresat = value; break;
      case "ce-priority": priority = value; break;
      case "traceparent": traceparent = value; break;
      case "tracestate": tracestate = value; break;
      default:
        if (name.startsWith(CE_PREFIX)) otherCeHeaders++;
    }
  }
  checkHeaderTotals(h, headersSize, headerCount, limits);
  // Another `ce-` header (an extension, ce-subject, ce-traceparent, …): the general walk, which handles every one.
  if (otherCeHeaders > 0) return decodeBinaryAttributes(wire, h, contentType);
  if (!isJsonContentType(contentType)) {
    return failure(new DecodeError(`unsupported datacontenttype ${JSON.stringify(contentType.slice(0, 100))}`), id, type);
  }
  const data = wire.body.byteLength === 0 ? null : parseJsonSafely(decodeUtf8(wire.body));
  // The checks of build(), in its order, on the values read above (no subject and no extensions here).
  if (!id || !source || !type || !specversion) return missingAttributes(id, source, type, specversion);
  if (specversion !== "1.0") return failure(new DecodeError(`unsupported specversion ${JSON.stringify(specversion.slice(0, 20))}`), id, type);
  const idProblem = attributeProblem("id", id);
  if (idProblem !== undefined) return failure(new DecodeError(idProblem), undefined, type);
  const sourceProblem = attributeProblem("source", source);
  if (sourceProblem !== undefined) return failure(new DecodeError(sourceProblem), id, type);
  const typeProblem = attributeProblem("type", type);
  if (typeProblem !== undefined) return failure(new DecodeError(typeProblem), id, undefined);
  const problem =
    (time === undefined ? undefined : attributeProblem("time", time)) ??
    attributeProblem("datacontenttype", contentType) ??
    (dataschema === undefined ? undefined : attributeProblem("dataschema", dataschema)) ??
    optionalProblem(key, correlationid, causationid, replyto, expiresat, priority);
  if (problem !== undefined) return failure(new DecodeError(problem), id, type);
  const envelope: Mutable<Envelope> = {
    id,
    source,
    type,
    specversion: "1.0",
    time: time ?? "",
    datacontenttype: contentType,
    dataschema: dataschema ?? "",
  } as Mutable<Envelope>;
  // Optional attributes only when present, in build()'s order, so both decoders make envelopes of one shape.
  if (key !== undefined) envelope.key = key;
  if (correlationid !== undefined) envelope.correlationid = correlationid;
  if (causationid !== undefined) envelope.causationid = causationid;
  if (replyto !== undefined) envelope.replyto = replyto;
  if (traceparent !== undefined) envelope.traceparent = traceparent;
  if (tracestate !== undefined) envelope.tracestate = tracestate;
  if (expiresat !== undefined) envelope.expiresat = expiresat;
  if (priority !== undefined) envelope.priority = priority;
  envelope.extensions = NO_EXTENSIONS;
  envelope.data = data;
  return { ok: true, envelope };
}

/** The first problem of the optional attributes, in CHECKED_ATTRIBUTES' order. */
function optionalProblem(
  key: string | undefined, correlationid: string | undefined, causationid: string | undefined,
  replyto: string | undefined, expiresat: string | undefined, priority: string | undefined,
): string | undefined {
  return (
    (key === undefined ? undefined : attributeProblem("key", key)) ??
    (correlationid === undefined ? undefined : attributeProblem("correlationid", correlationid)) ??
    (causationid === undefined ? undefined : attributeProblem("causationid", causationid)) ??
    (replyto === undefined ? undefined : attributeProblem("replyto", replyto)) ??
    (expiresat === undefined ? undefined : attributeProblem("expiresat", expiresat)) ??
    (priority === undefined ? undefined : attributeProblem("priority", priority))
  );
}

function missingAttributes(id: string | undefined, source: string | undefined, type: string | undefined, specversion: string | undefined): DecodeFailure {
  const missing: string[] = [];
  if (!id) missing.push("id");
  if (!source) missing.push("source");
  if (!type) missing.push("type");
  if (!specversion) missing.push("specversion");
  return failure(new DecodeError(`missing CloudEvents attribute(s): ${missing.join(", ")}`), id, type);
}

/** The binary decoder for any headers (extensions among them), after the size limits are checked. */
function decodeBinaryAttributes(wire: WireMessage, h: Readonly<Record<string, string>>, contentType: string): DecodeResult {
  const attrs = newAttributes();
  // Made on the first extension: most messages have none and share NO_EXTENSIONS (a null-prototype record is a dictionary, costly to make).
  let extensions: Record<string, string> | undefined;
  for (const name in h) {
    if (!name.startsWith(CE_PREFIX)) continue;
    const known = ATTRIBUTE_OF_HEADER.get(name);
    if (known !== undefined) {
      attrs[known] = h[name]!;
      continue;
    }
    const attr = name.slice(CE_PREFIX.length);
    if (EXTENSION_NAME.test(attr)) (extensions ??= emptyHeaders())[attr] = h[name]!;
  }
  if (!isJsonContentType(contentType)) {
    return failure(new DecodeError(`unsupported datacontenttype ${JSON.stringify(contentType.slice(0, 100))}`), attrs["id"], attrs["type"]);
  }
  const data = wire.body.byteLength === 0 ? null : parseJsonSafely(decodeUtf8(wire.body));
  for (const name of W3C_HEADERS) if (h[name] !== undefined) attrs[name] = h[name]!;
  attrs["datacontenttype"] = contentType;
  return build(attrs, extensions ?? NO_EXTENSIONS, data);
}

function decodeStructured(wire: WireMessage, h: Readonly<Record<string, string>>): DecodeResult {
  const doc = parseJsonSafely(decodeUtf8(wire.body));
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return failure(new DecodeError("structured CloudEvent is not a JSON object"), undefined, undefined);
  }
  const attrs = newAttributes();
  const extensions: Record<string, string> = emptyHeaders();
  const record = doc as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (name === "data" || name === "data_base64") continue;
    // CloudEvents' JSON format writes an Integer attribute as a number.
    if (name === "priority" && typeof value === "number") {
      attrs[name] = String(value);
      continue;
    }
    if (typeof value !== "string") {
      if (KNOWN_ATTRIBUTES.has(name)) return failure(new DecodeError(`attribute ${name} is not a string`), record["id"], record["type"]);
      continue;
    }
    if (KNOWN_ATTRIBUTES.has(name)) attrs[name] = value;
    else if (EXTENSION_NAME.test(name)) extensions[name] = value;
  }
  if ("data_base64" in record) return failure(new DecodeError("data_base64 is not supported; send JSON data"), attrs["id"], attrs["type"]);
  const ct = attrs["datacontenttype"] ?? JSON_CONTENT_TYPE;
  if (!isJsonContentType(ct)) return failure(new DecodeError(`unsupported datacontenttype ${JSON.stringify(ct.slice(0, 100))}`), attrs["id"], attrs["type"]);
  attrs["datacontenttype"] = ct;
  for (const name of W3C_HEADERS) if (h[name] !== undefined && attrs[name] === undefined) attrs[name] = h[name]!;
  return build(attrs, extensions, record["data"] ?? null);
}

function isJsonContentType(ct: string): boolean {
  if (ct === JSON_CONTENT_TYPE) return true;
  const base = ct.split(";")[0]!.trim().toLowerCase();
  return base === "application/json" || base.endsWith("+json") || base === "text/json";
}

/**
 * The context attributes found while decoding, by name. Only names in KNOWN_ATTRIBUTES are ever written
 * (both decoders check) and only fixed names are read, so every access hits one of these own fields and
 * nothing is looked up on Object.prototype. A plain object of fixed shape rather than a null-prototype
 * record: it is filled and read for every message, and V8 keeps null-prototype objects as hash
 * dictionaries, several times slower to build and read.
 */
type Attributes = Record<string, string | undefined>;

function newAttributes(): Attributes {
  return {
    id: undefined, source: undefined, type: undefined, specversion: undefined, time: undefined, datacontenttype: undefined,
    dataschema: undefined, key: undefined, correlationid: undefined, causationid: undefined, replyto: undefined,
    traceparent: undefined, tracestate: undefined, expiresat: undefined, priority: undefined, data: undefined, data_base64: undefined, subject: undefined,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const OPTIONAL_ATTRIBUTES = ["key", "correlationid", "causationid", "replyto", "traceparent", "tracestate", "expiresat", "priority"] as const;

function build(attrs: Attributes, extensions: Readonly<Record<string, string>>, data: unknown): DecodeResult {
  const id = attrs["id"];
  const type = attrs["type"];
  const source = attrs["source"];
  if (!id || !source || !type || !attrs["specversion"]) return missingAttributes(id, source, type, attrs["specversion"]);
  if (attrs["specversion"] !== "1.0") return failure(new DecodeError(`unsupported specversion ${JSON.stringify(attrs["specversion"]!.slice(0, 20))}`), id, type);
  for (const name of CHECKED_ATTRIBUTES) {
    const value = attrs[name];
    const problem = value === undefined ? undefined : attributeProblem(name, value);
    if (problem !== undefined) return failure(new DecodeError(problem), name === "id" ? undefined : id, name === "type" ? undefined : type);
  }
  for (const name in extensions) {
    const problem = attributeProblem(name, extensions[name]!);
    if (problem !== undefined) return failure(new DecodeError(problem), id, type);
  }
  // Optional attributes are assigned only when present (never as undefined), in the same order as always.
  const envelope: Mutable<Envelope> = {
    id: id!,
    source: source!,
    type: type!,
    specversion: "1.0",
    time: attrs["time"] ?? "",
    datacontenttype: attrs["datacontenttype"]!,
    dataschema: attrs["dataschema"] ?? "",
  } as Mutable<Envelope>;
  for (const name of OPTIONAL_ATTRIBUTES) {
    const value = attrs[name];
    if (value !== undefined) envelope[name] = value;
  }
  envelope.extensions = extensions;
  envelope.data = data;
  return { ok: true, envelope };
}

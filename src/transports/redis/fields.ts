/**
 * A wire message as stream entry fields, and back. Each header is a field of
 * its own, name and value as they are (Redis strings are binary-safe, so
 * CR/LF and any UTF-8 travel unchanged); the body is the field `:body`.
 * Fields missive keeps for itself (the topic of a copy in a group's stream) start with `:`, which no HTTP-style header
 * name can, so a header never collides with them and a plain client reading
 * the stream sees the message as it was published (docs/transports/redis.md).
 */
import { isUtf8 } from "node:buffer";
import { emptyHeaders, type WireMessage } from "../../envelope/wire.js";

export const BODY_FIELD = ":body";
/** On a copy in a group's stream: the topic it was published to. */
export const TOPIC_FIELD = ":topic";

/** An entry's fields: headers, then the bookkeeping fields given, then the body as its bytes (packed for the publish script, entry-pack.ts). */
export function entryFields(wire: WireMessage, extra: Readonly<Record<string, string>> = {}): Array<string | Uint8Array> {
  const out: Array<string | Uint8Array> = [];
  for (const name in wire.headers) out.push(name, wire.headers[name]!);
  for (const name in extra) out.push(name, extra[name]!);
  out.push(BODY_FIELD, wire.body);
  return out;
}

/** `XADD` arguments after the id: entryFields, the body as a command argument. */
export function toFields(wire: WireMessage, extra: Readonly<Record<string, string>> = {}): Array<string | Buffer> {
  return asXaddFields(entryFields(wire, extra));
}

/** entryFields made `XADD` arguments, in place: the body (last) as a command argument. */
export function asXaddFields(fields: Array<string | Uint8Array>): Array<string | Buffer> {
  fields[fields.length - 1] = bodyArgument(fields[fields.length - 1] as Uint8Array);
  return fields as Array<string | Buffer>;
}

/**
 * The body as a command argument. A valid UTF-8 body (every JSON body) goes
 * as a string: decoding valid UTF-8 and encoding it again gives the same
 * bytes, and ioredis writes a command of strings as one string, where one
 * Buffer argument makes it assemble the command from a Buffer per argument
 * (most of a publish's client CPU). Any other body goes as its bytes.
 */
function bodyArgument(body: Uint8Array): string | Buffer {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return isUtf8(bytes) ? bytes.toString("utf8") : bytes;
}

export interface ParsedEntry {
  readonly wire: WireMessage;
  /** The `:topic` field (a copy in a group's stream), if any; other `:` fields are missive's bookkeeping, not headers. */
  readonly topic: string | undefined;
}

/** An entry's flat field list (as buffers) back into headers, body and the topic of a group stream's copy. */
export function fromFields(fields: readonly Buffer[]): ParsedEntry {
  const headers = emptyHeaders();
  let topic: string | undefined;
  let body: Uint8Array = new Uint8Array();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fieldName(i, fields[i]!);
    const value = fields[i + 1]!;
    // No argument: Buffer's toString then goes straight to its UTF-8 decode.
    if (name.charCodeAt(0) !== COLON) headers[name] = value.toString();
    else if (name === BODY_FIELD) body = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else if (name === TOPIC_FIELD) topic = value.toString();
  }
  return { wire: { headers, body }, topic };
}

const COLON = 0x3a;
/** Names longer than this are decoded every time (a header name is short; the cache keeps copies of the bytes). */
const CACHED_NAME_BYTES = 64;
/** Field places whose names are cached: an entry has a few dozen fields at most. */
const CACHED_PLACES = 64;

/**
 * The field name at place `at` of the last entry that had one there. The
 * entries of a stream come from publishers writing the same headers in the
 * same order, so a name is nearly always the one at its place in the entry
 * before: comparing its few bytes costs a fraction of decoding them into a
 * new string (a consume decodes eight names per entry, half its field work).
 */
const recentNames: Array<{ readonly bytes: Buffer; readonly text: string } | undefined> = [];

function fieldName(at: number, bytes: Buffer): string {
  const known = recentNames[at];
  if (known !== undefined && sameBytes(known.bytes, bytes)) return known.text;
  const text = bytes.toString();
  // A copy: the reply's buffer is the socket's chunk, which a kept slice would pin.
  if (at < CACHED_PLACES && bytes.length <= CACHED_NAME_BYTES) recentNames[at] = { bytes: Buffer.from(bytes), text };
  return text;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  const n = a.length;
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes a message takes as an entry (headers + body), for the size limit. */
export function wireBytes(wire: WireMessage): number {
  let n = wire.body.byteLength;
  for (const name in wire.headers) n += Buffer.byteLength(name) + Buffer.byteLength(wire.headers[name]!);
  return n;
}

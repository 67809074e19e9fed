/**
 * Wire headers ⇄ NATS headers. NATS headers are lines of text: a value with
 * a CR or LF would break the frame, and the client trims the blanks around
 * a value. Such a value (and one that already looks encoded) travels as an
 * RFC 2047 encoded word, `=?UTF-8?B?<base64>?=`, which a plain client can
 * decode; every other value travels as it is, so CloudEvents `ce-*` headers
 * (the NATS binding's names) read plainly. `Nats-*` headers are the
 * server's and never reach a delivery; `missive-nats-topic` (the topic of a
 * message sent to one group's stream) and `missive-nats-attempts-before`
 * (a released copy's earlier attempts) are taken off again.
 */
import { headers as natsHeaders, InvalidArgumentError, type Msg, type MsgHdrs } from "@nats-io/nats-core";
import { emptyHeaders } from "../../envelope/wire.js";

export const TOPIC_HEADER = "missive-nats-topic";
/** On a released message's copy: the attempts its earlier copies used (delivery.ts). */
export const BASE_HEADER = "missive-nats-attempts-before";
const MSG_ID_HEADER = "Nats-Msg-Id";
const ENCODED = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/;

/** Travels as it is: no control character, no blank at either end. */
function isPlain(value: string): boolean {
  if (value.trim() !== value) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

function encodeValue(value: string): string {
  if (value === "" || (isPlain(value) && !value.startsWith("=?"))) return value;
  return `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

function decodeValue(value: string): string {
  if (!value.startsWith("=?")) return value;
  const m = ENCODED.exec(value);
  return m === null ? value : Buffer.from(m[1] ?? "", "base64").toString("utf8");
}

/** NATS headers for `wire`; `messageId` becomes `Nats-Msg-Id` (the server's dedup) when given. */
export function toNatsHeaders(wire: Readonly<Record<string, string>>, messageId: string | undefined, topic: string | undefined, attemptsBefore = 0): MsgHdrs {
  const h = natsHeaders();
  // append, not set: the names of a record are distinct already, and the client's set looks every name up twice.
  for (const [name, value] of Object.entries(wire)) h.append(name, encodeValue(value));
  if (topic !== undefined) h.set(TOPIC_HEADER, encodeValue(topic));
  if (attemptsBefore > 0) h.set(BASE_HEADER, String(attemptsBefore));
  // The server's duplicate window removes a producer retry with the same id.
  if (messageId !== undefined) h.set(MSG_ID_HEADER, messageId);
  return h;
}

/**
 * The header block of a publish, encoded once, in the one shape the client's publish reads of its headers: it calls
 * `encode()` and writes the bytes (`ProtocolHandler.publish` in @nats-io/nats-core 3.x). The bytes are the ones the
 * client's own headers encode to (a test compares them). Through the client's headers, every published message cost a
 * header object whose every append validates its name into a new array and looks up every name before it, a `set`
 * that looks them up again, the block built line by line and encoded, and a walk over it for its size: for the bench
 * event's eight headers 2.9-3.3 µs against 1.0-1.5 µs here (in-process loop of 100,000, interleaved).
 */
export class NatsHeaderBlock {
  constructor(readonly bytes: Uint8Array) {}

  encode(): Uint8Array {
    return this.bytes;
  }

  /** For the client's publish, which takes its headers' type but reads only encode(). */
  asHeaders(): MsgHdrs {
    return this as unknown as MsgHdrs;
  }
}

/** The header block toNatsHeaders would make, encoded without a header object: what a publish sends. */
export function natsHeaderBlock(wire: Readonly<Record<string, string>>, messageId: string | undefined, topic: string | undefined, attemptsBefore = 0): NatsHeaderBlock {
  let text = "";
  // As the client's set(): a header of the record under a name set below is replaced, and the set one goes last.
  for (const name of Object.keys(wire)) {
    if ((topic !== undefined && name === TOPIC_HEADER) || (attemptsBefore > 0 && name === BASE_HEADER) || (messageId !== undefined && name === MSG_ID_HEADER)) continue;
    text += line(name, encodeValue(wire[name]!));
  }
  if (topic !== undefined) text += line(TOPIC_HEADER, encodeValue(topic));
  if (attemptsBefore > 0) text += line(BASE_HEADER, String(attemptsBefore));
  if (messageId !== undefined) text += line(MSG_ID_HEADER, messageId);
  // The client encodes a block without a header to nothing.
  return new NatsHeaderBlock(text === "" ? new Uint8Array(0) : Buffer.from(`NATS/1.0${text}\r\n\r\n`, "utf8"));
}

/** `\r\nname: value`, the name checked as the client checks it (printable ASCII, no colon). */
function line(name: string, value: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x3a || c < 0x21 || c > 0x7e) throw InvalidArgumentError.format("header", `'${name[i]!}' is not a valid character in a header name`);
  }
  return `\r\n${name}: ${value}`;
}

/** What a received message of the 3.x client keeps of its frame: the raw bytes and where its header block ends. */
interface RawMsg {
  readonly _rdata?: unknown;
  readonly _msg?: { readonly hdr?: unknown };
}

/**
 * The wire headers of a received delivery, read from its frame's header block in one pass. The client's own
 * `msg.headers` builds a header object first, validating and looking up every name on append (a tenth of the
 * consume CPU in bench/nats-quick.ts); a client without those fields is read through it instead.
 */
export function fromNatsMessage(msg: Msg): { headers: Record<string, string>; topic: string | undefined; attemptsBefore: number } {
  const raw = msg as unknown as RawMsg;
  const data = raw._rdata;
  const end = raw._msg?.hdr;
  if (!(data instanceof Uint8Array) || typeof end !== "number") return fromNatsHeaders(msg.headers);
  // Null-prototype, as WireMessage says: a header named `__proto__` is kept, and no name is looked up on Object.prototype.
  const headers = emptyHeaders();
  let topic: string | undefined;
  let attemptsBefore = 0;
  if (end <= 0) return { headers, topic, attemptsBefore };
  // The client's frame is nearly always a Buffer (a view of the socket's read): decoded in place, without the view
  // subarray() makes, an object the garbage collector then tracks, per delivery. The bytes and the text are the same.
  const text = Buffer.isBuffer(data) ? data.toString("utf8", 0, end) : decoder.decode(data.subarray(0, end));
  // Walked line by line by index, not split(): this runs for every delivery, and the split's array and lines are
  // garbage the moment the names and values are cut out. Line 0 is the version line (`NATS/1.0`, a status code on a
  // status message); as the client, the first value of a name wins.
  const first = text.indexOf("\r\n");
  for (let start = first < 0 ? text.length : first + 2; start < text.length; ) {
    let stop = text.indexOf("\r\n", start);
    if (stop < 0) stop = text.length;
    const colon = text.indexOf(":", start);
    if (colon > start && colon < stop && !isServerHeader(text, start, colon)) {
      const name = knownName(text, start, colon) ?? text.slice(start, colon);
      const value = decodeValue(trimmed(text.slice(text.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1, stop)));
      if (name === TOPIC_HEADER) topic ??= value;
      else if (name === BASE_HEADER) attemptsBefore ||= Number(value) || 0;
      else if (!Object.hasOwn(headers, name)) headers[name] = value;
    }
    start = stop + 2;
  }
  return { headers, topic, attemptsBefore };
}

/** The CloudEvents binding's names and the W3C trace headers, by length: what nearly every delivery carries. */
const KNOWN_NAMES: ReadonlyArray<readonly string[] | undefined> = (() => {
  const names = [
    "ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "ce-dataschema", "ce-key", "ce-correlationid", "ce-causationid",
    "ce-replyto", "ce-expiresat", "ce-priority", "content-type", "traceparent", "tracestate",
  ];
  const byLength: string[][] = [];
  for (const name of names) (byLength[name.length] ??= []).push(name);
  return byLength;
})();

/**
 * The constant string for a well-known name between `start` and `colon`, else undefined. A name cut out of the
 * block is a new string the object's property has to look up in the string table first, for every header of every
 * delivery; a constant is looked up once.
 */
function knownName(text: string, start: number, colon: number): string | undefined {
  const candidates = KNOWN_NAMES[colon - start];
  if (candidates !== undefined) for (const name of candidates) if (text.startsWith(name, start)) return name;
  return undefined;
}

/** `Nats-*` (any case) between `start` and `colon`: the server's own headers. */
function isServerHeader(text: string, start: number, colon: number): boolean {
  return colon - start >= 5 && (text.charCodeAt(start) | 0x20) === 0x6e && text.slice(start, start + 5).toLowerCase() === "nats-";
}

/** As trim(), which the client applies to a value, but without a copy when there is nothing to trim (the usual case). */
function trimmed(value: string): string {
  if (value.length === 0) return value;
  const a = value.charCodeAt(0);
  const z = value.charCodeAt(value.length - 1);
  // Every character trim() removes is at most a space or outside ASCII.
  return a <= 0x20 || a >= 0x80 || z <= 0x20 || z >= 0x80 ? value.trim() : value;
}

const decoder = new TextDecoder();

/** The wire headers of a received message, and the topic it carried (group streams). */
export function fromNatsHeaders(h: MsgHdrs | undefined): { headers: Record<string, string>; topic: string | undefined; attemptsBefore: number } {
  // Null-prototype, as WireMessage says: a header named `__proto__` is kept, and no name is looked up on Object.prototype.
  const headers = emptyHeaders();
  let topic: string | undefined;
  let attemptsBefore = 0;
  if (h === undefined) return { headers, topic, attemptsBefore };
  // Iterated, not looked up by name: the client's get() walks every name for each one.
  for (const [name, values] of h) {
    if (/^nats-/i.test(name)) continue;
    const value = decodeValue(values[0] ?? "");
    if (name === TOPIC_HEADER) topic = value;
    else if (name === BASE_HEADER) attemptsBefore = Number(value) || 0;
    else headers[name] = value;
  }
  return { headers, topic, attemptsBefore };
}

/**
 * Headers that do not fit an AMQP header table travel in the body.
 *
 * A broker accepts a content header frame up to its frame_max (128 KiB by
 * default), but amqplib encodes a header table into a 64 KiB buffer, and a
 * message received with headers near that size (or with thousands of short
 * ones, which come back as longer strings) cannot be published again as it
 * came. A retry copy, a dead-letter entry or a replay must never fail for
 * that (docs/contract.md §6, issue 14), so the publisher keeps in the table
 * what fits, in this order: missive's own headers (diagnostics, private
 * bookkeeping, always small), CloudEvents attributes, then the rest; the
 * headers left over are written as a JSON object in front of the body, and
 * two private headers say so: MOVED_HEADER (the prefix's length in bytes) and
 * MOVED_NAMES_HEADER (how many and which, for a person or a plain client
 * reading the queue). Receiving puts them back (`restoreMoved`), so a
 * missive consumer, the dead-letter store and a replay see the original
 * headers and body intact. A plain client sees the prefixed body.
 */
import { CE_PREFIX, CONTENT_TYPE, emptyHeaders, type WireMessage } from "../../envelope/wire.js";
import { DIAGNOSTIC_PREFIX } from "../../transport/diagnostic-prefix.js";

/** The length in bytes of the moved headers' JSON prefix of the body. */
export const MOVED_HEADER = "x-missive-moved";
/** What was moved, for people: `<count> headers moved into the body: <names>` (names cut to a budget). */
export const MOVED_NAMES_HEADER = "x-missive-moved-headers";

/**
 * The table bytes a publish may use: amqplib's encoding buffer is 65,536 bytes, and the rest of the
 * content header (content type, message id, timestamp…) must fit the frame beside the table.
 */
export const TABLE_BUDGET = 60 * 1024;
/** Bytes kept free in the table for the two marker headers. */
const MARKER_RESERVE = 1200;
const NAMES_BUDGET = 1024;
/** An AMQP short string (a header name, the content type) holds at most 255 bytes. */
const SHORTSTR_MAX = 255;
/** Characters that stay within a short string whatever they are (3 bytes each, plus a renamed attribute's 9). */
const SHORT_SAFE_CHARS = 82;
/** Largest prefix read back: far above any table a broker accepts (every value JSON-escaped at worst 6×). */
const MAX_PREFIX_BYTES = 8 * 1024 * 1024;
/** amqp-headers.ts's: kept here too, so that module can import this one without a cycle. */
const AMQP_CE_PREFIX = "cloudEvents_";
const PRIVATE_PREFIX = "x-missive-";
/** Per string header in the table: name length byte, type byte, value length (4 bytes). */
const PER_HEADER = 6;
/** The table's own length field. */
const TABLE_LENGTH = 4;

/** The name a wire header takes in the AMQP table (amqp-headers.ts toAmqpProperties). */
function amqpNameBytes(name: string): number {
  return name.startsWith(CE_PREFIX) ? Buffer.byteLength(name) - CE_PREFIX.length + AMQP_CE_PREFIX.length : Buffer.byteLength(name);
}

/** Keep order: missive's own headers, then CloudEvents attributes, then the rest. */
function rank(name: string): number {
  if (name.startsWith(DIAGNOSTIC_PREFIX) || name.startsWith(PRIVATE_PREFIX)) return 0;
  return name.startsWith(CE_PREFIX) || name === CONTENT_TYPE ? 1 : 2;
}

/**
 * `wire` as it can be published on AMQP: unchanged when its headers fit `budget` bytes of header table
 * (the common case, counted without encoding), else with the headers that do not fit moved into a prefix
 * of the body; `moved` names them.
 */
export function fitHeaderTable(wire: WireMessage, budget = TABLE_BUDGET): { wire: WireMessage; moved: string[] } {
  let chars = 0;
  let count = 0;
  // A short string that might pass 255 bytes (a name, the content type) is measured exactly.
  let longShort = false;
  for (const name in wire.headers) {
    const valueLength = wire.headers[name]!.length;
    chars += name.length + valueLength;
    count++;
    if (name.length > SHORT_SAFE_CHARS || (name === CONTENT_TYPE && valueLength > SHORT_SAFE_CHARS)) longShort = true;
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes and a renamed attribute 9 bytes longer: an upper bound, no encoding.
  if (!longShort && TABLE_LENGTH + chars * 3 + count * (PER_HEADER + 9) <= budget) return { wire, moved: [] };
  return fitSlowly(wire, budget);
}

function fitSlowly(wire: WireMessage, budget: number): { wire: WireMessage; moved: string[] } {
  const names = Object.keys(wire.headers).sort((a, b) => rank(a) - rank(b));
  const kept = emptyHeaders();
  const moved = emptyHeaders();
  const movedNames: string[] = [];
  let used = TABLE_LENGTH + MARKER_RESERVE;
  for (const name of names) {
    const value = wire.headers[name]!;
    // The content type is a property of its own (a short string), not a table entry.
    const nameBytes = name === CONTENT_TYPE ? 0 : amqpNameBytes(name);
    const cost = name === CONTENT_TYPE ? 0 : PER_HEADER + nameBytes + Buffer.byteLength(value);
    const fits = name === CONTENT_TYPE ? Buffer.byteLength(value) <= SHORTSTR_MAX : nameBytes <= SHORTSTR_MAX && used + cost <= budget;
    if (fits) {
      kept[name] = value;
      used += cost;
    } else {
      moved[name] = value;
      movedNames.push(name);
    }
  }
  if (movedNames.length === 0) return { wire, moved: [] };
  const prefix = Buffer.from(JSON.stringify(moved), "utf8");
  const body = new Uint8Array(prefix.byteLength + wire.body.byteLength);
  body.set(prefix, 0);
  body.set(wire.body, prefix.byteLength);
  kept[MOVED_HEADER] = String(prefix.byteLength);
  kept[MOVED_NAMES_HEADER] = describeMoved(movedNames);
  return { wire: { headers: kept, body }, moved: movedNames };
}

function describeMoved(names: readonly string[]): string {
  let out = `${names.length} headers moved into the body:`;
  for (let i = 0; i < names.length; i++) {
    const next = ` ${JSON.stringify(names[i]!.slice(0, 64))}`;
    if (Buffer.byteLength(out) + Buffer.byteLength(next) > NAMES_BUDGET - 16) return `${out} …(${names.length - i} more)`;
    out += next;
  }
  return out;
}

/**
 * The headers moved into `content` and the original body, when `rawHeaders` carry MOVED_HEADER and the
 * prefix it describes is a JSON object of strings; else undefined, and the message is taken as it came
 * (a plain client that sets the private header without the prefix gets its body delivered unchanged).
 */
export function restoreMoved(rawHeaders: unknown, content: Uint8Array): { headers: Record<string, string>; body: Uint8Array } | undefined {
  if (rawHeaders === null || typeof rawHeaders !== "object") return undefined;
  const marker: unknown = (rawHeaders as Record<string, unknown>)[MOVED_HEADER];
  const length = typeof marker === "number" ? marker : typeof marker === "string" || Buffer.isBuffer(marker) ? Number(String(marker)) : Number.NaN;
  if (!Number.isSafeInteger(length) || length < 2 || length > content.byteLength || length > MAX_PREFIX_BYTES) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(content.buffer, content.byteOffset, length).toString("utf8"));
  } catch {
    // Not a prefix missive wrote: the message is delivered as it came (see above).
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const headers = emptyHeaders();
  for (const name of Object.keys(parsed)) {
    const value: unknown = (parsed as Record<string, unknown>)[name];
    if (typeof value !== "string") return undefined;
    // Private bookkeeping is never a header of the message (amqp-headers.ts); missive never moves it.
    if (!name.startsWith(PRIVATE_PREFIX)) headers[name] = value;
  }
  return { headers, body: content.subarray(length) };
}

/**
 * A read's reply packed by the server (scripts.ts READ_PACKED: each entry of
 * the XREADGROUP reply through Lua's `cmsgpack.pack`), back into entries.
 * One bulk string per entry instead of a Buffer per field and an array per
 * entry from the client's reply parser: the strings are decoded straight
 * from it and the body is a view of it, about half the client's work per
 * entry read. Only what cmsgpack makes of a stream reply is understood:
 * arrays and strings.
 */
import { emptyHeaders, type WireMessage } from "../../envelope/wire.js";
import { BODY_FIELD, TOPIC_FIELD, type ParsedEntry } from "./fields.js";

export interface PackedStream {
  readonly stream: string;
  readonly entries: Array<{ readonly id: string; readonly entry: ParsedEntry }>;
}

const COLON = 0x3a;

/** `[[stream, [[id, [name, value, …]], …]], …]` as cmsgpack packed it. */
export function unpackRead(packed: Buffer): PackedStream[] {
  const r = new Reader(packed);
  const out: PackedStream[] = [];
  for (let s = r.array(); s > 0; s--) {
    r.array();
    const stream = r.text();
    const entries: Array<{ id: string; entry: ParsedEntry }> = [];
    for (let e = r.array(); e > 0; e--) {
      r.array();
      const id = r.text();
      const headers = emptyHeaders();
      let topic: string | undefined;
      let body: Uint8Array = EMPTY;
      for (let f = r.array(), place = 0; f > 1; f -= 2, place += 2) {
        const name = r.text(place);
        if (name.charCodeAt(0) !== COLON) headers[name] = r.text(place + 1);
        else if (name === BODY_FIELD) body = r.bytes();
        else if (name === TOPIC_FIELD) topic = r.text();
        else r.bytes();
      }
      const wire: WireMessage = { headers, body };
      entries.push({ id, entry: { wire, topic } });
    }
    out.push({ stream, entries });
  }
  return out;
}

const EMPTY = new Uint8Array(0);
/** Strings longer than this are decoded every time (ids and times differ from entry to entry anyway). */
const CACHED_TEXT_BYTES = 24;
/** Field places (names and values) whose last string is kept: an entry has a few dozen fields at most. */
const CACHED_PLACES = 64;

/**
 * The last short string read at each field place, with its bytes. The
 * entries of a stream come from publishers writing the same headers in the
 * same order, so every name and most values (source, type, spec version,
 * schema, content type) are the ones at their place in the entry before:
 * comparing a few bytes costs a fraction of decoding them into a new string.
 */
const recent: Array<{ readonly bytes: Buffer; readonly text: string } | undefined> = [];

class Reader {
  private at = 0;

  constructor(private readonly b: Buffer) {}

  array(): number {
    const t = this.byte();
    if ((t & 0xf0) === 0x90) return t & 0x0f;
    if (t === 0xdc) return this.uint(2);
    if (t === 0xdd) return this.uint(4);
    throw new Error(`redis: unexpected MessagePack type 0x${t.toString(16)} where an array was expected (packed read)`);
  }

  /** A string; at field `place` (when given), the one read there before if its bytes are the same. */
  text(place = CACHED_PLACES): string {
    const n = this.strLength();
    const from = this.at;
    this.at += n;
    if (place >= CACHED_PLACES || n > CACHED_TEXT_BYTES) return this.b.toString("utf8", from, this.at);
    const known = recent[place];
    if (known !== undefined && sameBytes(known.bytes, this.b, from, n)) return known.text;
    const text = this.b.toString("utf8", from, this.at);
    // A copy: a slice would pin the whole reply.
    recent[place] = { bytes: Buffer.from(this.b.subarray(from, this.at)), text };
    return text;
  }

  /** A view of the string's bytes in the reply (the reply stays alive while a delivery holds its body). */
  bytes(): Uint8Array {
    const n = this.strLength();
    const from = this.at;
    this.at += n;
    return this.b.subarray(from, this.at);
  }

  private strLength(): number {
    const t = this.byte();
    if ((t & 0xe0) === 0xa0) return t & 0x1f;
    if (t === 0xd9 || t === 0xc4) return this.uint(1);
    if (t === 0xda || t === 0xc5) return this.uint(2);
    if (t === 0xdb || t === 0xc6) return this.uint(4);
    throw new Error(`redis: unexpected MessagePack type 0x${t.toString(16)} where a string was expected (packed read)`);
  }

  private byte(): number {
    if (this.at >= this.b.length) throw new Error("redis: a packed read ended early");
    return this.b[this.at++]!;
  }

  private uint(size: 1 | 2 | 4): number {
    if (this.at + size > this.b.length) throw new Error("redis: a packed read ended early");
    const n = size === 1 ? this.b[this.at]! : size === 2 ? this.b.readUInt16BE(this.at) : this.b.readUInt32BE(this.at);
    this.at += size;
    return n;
  }
}

function sameBytes(known: Buffer, b: Buffer, from: number, n: number): boolean {
  if (known.length !== n) return false;
  for (let i = 0; i < n; i++) if (known[i] !== b[from + i]) return false;
  return true;
}

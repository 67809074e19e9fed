/**
 * A read's reply packed by the server (scripts.ts READ_PACKED: the
 * XREADGROUP reply through Lua's `cmsgpack.pack`), back into entries. One
 * bulk reply instead of a Buffer per field and an array per entry from the
 * client's reply parser: the strings are decoded straight from the one
 * buffer and the body is a view of it, about half the client's work per
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
      for (let f = r.array(); f > 1; f -= 2) {
        const name = r.text();
        if (name.charCodeAt(0) !== COLON) headers[name] = r.text();
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

  text(): string {
    const n = this.strLength();
    const from = this.at;
    this.at += n;
    return this.b.toString("utf8", from, this.at);
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

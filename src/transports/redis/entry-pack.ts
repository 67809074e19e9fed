/**
 * A run of entries' fields as one MessagePack array (of arrays of strings):
 * the single argument of the publish script (scripts.ts PUBLISH_MANY), which
 * the server's Lua decodes with its built-in `cmsgpack`. One argument of a
 * batch's size, not a pipeline of XADDs, because Redis reads a client's
 * pipelined commands 16 KiB per event-loop turn and, under `appendfsync
 * always`, fsyncs once per turn: a pipeline of 256 entries cost seven
 * fsyncs, one large argument is read whole and costs one. It also spares
 * ioredis a command object and a promise per entry.
 *
 * Only what that needs is encoded: array headers and str headers (the
 * decoder makes every str a Lua string as it is, so bytes that are not UTF-8
 * travel unchanged). A header may be wider than its length needs (an
 * array32 for a few entries, a str8 for five bytes): MessagePack decoders
 * take it, and it spares a count before the write.
 *
 * The entries are written straight from each message's header record as
 * they come (EntryPack), not first gathered into a field list per message
 * and walked again to size the buffer: the headers are a null-prototype
 * record, whose keys are collected afresh on every walk.
 */

/** Strings up to this many UTF-16 units are written by a loop here while they are ASCII: cheaper than Buffer#write's call into C++ for a header's few dozen bytes. */
const SHORT_STRING = 128;
/** Room an entry's array header takes (array16: an entry has at most a few thousand fields, publisher.ts SCRIPT_FIELDS). */
const ENTRY_HEADER = 3;
/** Room the outer array header takes (array32, written when the pack is finished). */
const OUTER_HEADER = 5;

/**
 * Entries packed one after another into one growing buffer: `begin`, a
 * `string` or `bytes` per field, then `end` with the field count (or
 * `rewind` to leave the entry out), and `finish` for the argument.
 */
export class EntryPack {
  private out: Buffer;
  private at = OUTER_HEADER;
  private start = 0;
  /** Entries ended so far. */
  entries = 0;
  /** UTF-8 bytes of the current entry's fields (without MessagePack headers): a message's size, for the size limit. */
  entryBytes = 0;

  constructor(capacity = 16 * 1024) {
    this.out = Buffer.allocUnsafe(Math.max(capacity, 64));
  }

  /** Bytes written so far, headers included. */
  get size(): number {
    return this.at;
  }

  begin(): void {
    this.room(ENTRY_HEADER);
    this.start = this.at;
    this.at += ENTRY_HEADER;
    this.entryBytes = 0;
  }

  /** A field as a str, its UTF-8 bytes. */
  string(s: string): void {
    const len = s.length;
    this.room(5 + 3 * len);
    const out = this.out;
    const at = this.at;
    if (len <= SHORT_STRING) {
      // ASCII (every header missive writes): one byte per unit, after a header sized by the length.
      const skip = len < 32 ? 1 : 2;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        out[at + skip + i] = c;
      }
      if (i === len) {
        if (skip === 1) out[at] = 0xa0 | len;
        else {
          out[at] = 0xd9;
          out[at + 1] = len;
        }
        this.at = at + skip + len;
        this.entryBytes += len;
        return;
      }
    }
    this.at = packString(out, at, s);
    this.entryBytes += this.at - at - strHeaderBytes(3 * len);
  }

  /** A field as a str of these bytes (a body, which need not be UTF-8). */
  bytes(bytes: Uint8Array): void {
    const n = bytes.byteLength;
    this.room(5 + n);
    const out = this.out;
    const at = this.at;
    out[at] = 0xdb;
    out.writeUInt32BE(n, at + 1);
    out.set(bytes, at + 5);
    this.at = at + 5 + n;
    this.entryBytes += n;
  }

  /** The entry begun last, of `fields` fields, is complete. */
  end(fields: number): void {
    const out = this.out;
    out[this.start] = 0xdc;
    out.writeUInt16BE(fields, this.start + 1);
    this.entries++;
  }

  /** Leave out the entry begun last (it goes another way, or not at all). */
  rewind(): void {
    this.at = this.start;
  }

  /** The packed entries, one MessagePack array. */
  finish(): Buffer {
    const out = this.out;
    out[0] = 0xdd;
    out.writeUInt32BE(this.entries, 1);
    return out.subarray(0, this.at);
  }

  /** At least `n` more bytes writable: a larger buffer with what is written copied over. */
  private room(n: number): void {
    if (this.at + n <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.out.length, this.at + n));
    this.out.copy(grown, 0, 0, this.at);
    this.out = grown;
  }
}

/** The width of the str header packString writes for a string of at most `most` UTF-8 bytes. */
function strHeaderBytes(most: number): number {
  return most < 32 ? 1 : most < 0x100 ? 2 : most < 0x10000 ? 3 : 5;
}

/**
 * A string written in place after a header sized for its largest UTF-8
 * length (3 bytes per UTF-16 unit), then the header filled with the length
 * written: no separate pass to count its bytes.
 */
function packString(out: Buffer, at: number, s: string): number {
  const most = 3 * s.length;
  if (most < 32) {
    const n = out.write(s, at + 1, "utf8");
    out[at] = 0xa0 | n;
    return at + 1 + n;
  }
  if (most < 0x100) {
    const n = out.write(s, at + 2, "utf8");
    out[at] = 0xd9;
    out[at + 1] = n;
    return at + 2 + n;
  }
  if (most < 0x10000) {
    const n = out.write(s, at + 3, "utf8");
    out[at] = 0xda;
    out.writeUInt16BE(n, at + 1);
    return at + 3 + n;
  }
  const n = out.write(s, at + 5, "utf8");
  out[at] = 0xdb;
  out.writeUInt32BE(n, at + 1);
  return at + 5 + n;
}

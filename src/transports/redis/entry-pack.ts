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
 * travel unchanged).
 */

/** One entry's fields, name and value alternating, as XADD takes them after the id. */
export type EntryFields = ReadonlyArray<string | Uint8Array>;

/** Bytes `fields` can take packed at most (a string: 3 bytes per UTF-16 unit; each field's header: 5), for a batch's size budget. */
export function packedBound(fields: EntryFields): number {
  let n = 5;
  for (const f of fields) n += 5 + (typeof f === "string" ? 3 * f.length : f.byteLength);
  return n;
}

/** `entries` as one MessagePack array of arrays of str; `bound`: the sum of their packedBound, when the caller has it. */
export function packEntries(entries: readonly EntryFields[], bound = entries.reduce((n, e) => n + packedBound(e), 0)): Buffer {
  const out = Buffer.allocUnsafe(bound + 5);
  let at = arrayHeader(out, 0, entries.length);
  for (const e of entries) {
    at = arrayHeader(out, at, e.length);
    for (const f of e) at = typeof f === "string" ? packString(out, at, f) : packBytes(out, at, f);
  }
  return out.subarray(0, at);
}

function arrayHeader(out: Buffer, at: number, n: number): number {
  if (n < 16) {
    out[at] = 0x90 | n;
    return at + 1;
  }
  if (n < 0x10000) {
    out[at] = 0xdc;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  out[at] = 0xdd;
  out.writeUInt32BE(n, at + 1);
  return at + 5;
}

/**
 * A string written in place after a header sized for its largest UTF-8
 * length (3 bytes per UTF-16 unit), then the header filled with the length
 * written: no separate pass to count its bytes. MessagePack decoders take a
 * header wider than the length needs (a str8 of 5 bytes is valid).
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

function packBytes(out: Buffer, at: number, bytes: Uint8Array): number {
  const n = bytes.byteLength;
  out[at] = 0xdb;
  out.writeUInt32BE(n, at + 1);
  out.set(bytes, at + 5);
  return at + 5 + n;
}

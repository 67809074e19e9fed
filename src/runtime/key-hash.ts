/**
 * The one hash missive uses to spread ordering keys over partitions, on every
 * transport that partitions a group to keep key order across processes
 * (docs/adr/007-key-order-across-processes.md). It is part of the wire
 * contract: a producer written elsewhere must compute the same, so it is
 * spelled out here and never changes: 32-bit FNV-1a over the key's UTF-8
 * bytes. FNV-1a is not cryptographic; it only has to be stable and spread
 * typical keys (ids, short strings) evenly over a power-of-two number of
 * partitions, which its low bits do.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a (32 bits, unsigned) of the UTF-8 encoding of `key`; no allocation. */
export function keyHash(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    // A surrogate pair is one code point (four UTF-8 bytes); a lone surrogate encodes as U+FFFD, as TextEncoder does.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < key.length) {
      const low = key.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h >>> 0;
}

/** The partition of `key` among `partitions` (a power of two): the hash's low bits. */
export function keyPartition(key: string, partitions: number): number {
  return keyHash(key) & (partitions - 1);
}

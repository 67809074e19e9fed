import { randomFillSync } from "node:crypto";

// Random bytes are drawn in blocks: one syscall per 256 ids instead of one per id.
const POOL_IDS = 256;
const pool = new Uint8Array(POOL_IDS * 10);
let poolOffset = pool.length;
let lastMs = 0;
let seq = 0;

/** ASCII codes of the high and low hex digit of each byte value: an id is made by one String.fromCharCode. */
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HIGH[i] = "0123456789abcdef".charCodeAt(i >>> 4);
  LOW[i] = "0123456789abcdef".charCodeAt(i & 15);
}
const DASH = 0x2d;
const h = (b: number): number => HIGH[b]!;
const l = (b: number): number => LOW[b]!;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then randomness. Ids from one
 * process are strictly increasing (a 12-bit counter in rand_a breaks ties
 * within one millisecond), so they sort by creation time.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let ms = now;
  if (ms <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    seq = pool[poolOffset]! & 0x3f; // random start leaves room for many ids in one ms
  }
  const r = poolOffset;
  poolOffset += 10;
  const b0 = Math.floor(ms / 2 ** 40) & 0xff;
  const b1 = Math.floor(ms / 2 ** 32) & 0xff;
  const b2 = (ms >>> 24) & 0xff;
  const b3 = (ms >>> 16) & 0xff;
  const b4 = (ms >>> 8) & 0xff;
  const b5 = ms & 0xff;
  const b6 = 0x70 | ((seq >>> 8) & 0x0f);
  const b7 = seq & 0xff;
  const b8 = 0x80 | (pool[r + 2]! & 0x3f);
  const b9 = pool[r + 3]!;
  const b10 = pool[r + 4]!;
  const b11 = pool[r + 5]!;
  const b12 = pool[r + 6]!;
  const b13 = pool[r + 7]!;
  const b14 = pool[r + 8]!;
  const b15 = pool[r + 9]!;
  // One flat 36-character string: concatenating 20 pieces made 19 intermediate strings (about 600 B) to flatten later.
  return String.fromCharCode(
    h(b0), l(b0), h(b1), l(b1), h(b2), l(b2), h(b3), l(b3), DASH,
    h(b4), l(b4), h(b5), l(b5), DASH,
    h(b6), l(b6), h(b7), l(b7), DASH,
    h(b8), l(b8), h(b9), l(b9), DASH,
    h(b10), l(b10), h(b11), l(b11), h(b12), l(b12), h(b13), l(b13), h(b14), l(b14), h(b15), l(b15),
  );
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuidV7(id: string): boolean {
  return UUID_V7.test(id);
}

/** The creation time encoded in a UUIDv7, in Unix milliseconds. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

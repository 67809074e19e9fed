import { randomFillSync } from "node:crypto";

// Random bytes are drawn in blocks: one syscall per 256 ids instead of one per id.
const POOL_IDS = 256;
const pool = new Uint8Array(POOL_IDS * 10);
let poolOffset = pool.length;
let lastMs = 0;
let seq = 0;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

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
  return (
    HEX[b0]! + HEX[b1]! + HEX[b2]! + HEX[b3]! + "-" + HEX[b4]! + HEX[b5]! + "-" + HEX[b6]! + HEX[b7]! + "-" +
    HEX[b8]! + HEX[pool[r + 3]!]! + "-" + HEX[pool[r + 4]!]! + HEX[pool[r + 5]!]! + HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! + HEX[pool[r + 8]!]! + HEX[pool[r + 9]!]!
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

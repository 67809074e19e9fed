import { MessageTooLargeError } from "../errors.js";

/** Size limits, applied on publish (typed error before sending) and on consume (dead-lettered). */
export interface SizeLimits {
  /** Largest body in bytes. Default 1 MiB. */
  readonly maxBodyBytes: number;
  /** Largest single header (name + value) in bytes. Default 8 KiB. */
  readonly maxHeaderBytes: number;
  /** Largest sum of all headers in bytes. Default 64 KiB. */
  readonly maxHeadersBytes: number;
  /** Most headers on one message. Default 128. */
  readonly maxHeaderCount: number;
}

export const DEFAULT_LIMITS: SizeLimits = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxHeaderBytes: 8 * 1024,
  maxHeadersBytes: 64 * 1024,
  maxHeaderCount: 128,
});

/** Throws MessageTooLargeError when a message breaks a limit. */
export function checkLimits(headers: Readonly<Record<string, string>>, bodyBytes: number, limits: SizeLimits): void {
  checkBodySize(bodyBytes, limits);
  let total = 0;
  let count = 0;
  for (const name in headers) {
    total += headerSize(name, headers[name]!, limits);
    count++;
  }
  checkHeaderTotals(headers, total, count, limits);
}

/*
 * checkLimits in three steps, for a decoder that walks the headers anyway (codec.ts): one walk of a
 * null-prototype record (a dictionary, whose keys are collected afresh on every walk) instead of two.
 */

export function checkBodySize(bodyBytes: number, limits: SizeLimits): void {
  if (bodyBytes > limits.maxBodyBytes) {
    throw new MessageTooLargeError(`body is ${bodyBytes} bytes, limit is ${limits.maxBodyBytes}`);
  }
}

/** One header's size for checkHeaderTotals (UTF-16 units when short, else UTF-8 bytes); throws when it alone breaks the limit. */
export function headerSize(name: string, value: string, limits: SizeLimits): number {
  const chars = name.length + value.length;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short headers need no exact count (the hot path).
  const size = chars * 3 <= limits.maxHeaderBytes ? chars : Buffer.byteLength(name) + Buffer.byteLength(value);
  if (size > limits.maxHeaderBytes) {
    throw new MessageTooLargeError(`header ${JSON.stringify(name.slice(0, 64))} is ${size} bytes, limit is ${limits.maxHeaderBytes}`);
  }
  return size;
}

/** After every header's headerSize: their count and their sum, `total`. */
export function checkHeaderTotals(headers: Readonly<Record<string, string>>, total: number, count: number, limits: SizeLimits): void {
  if (count > limits.maxHeaderCount) throw new MessageTooLargeError(`${count} headers, limit is ${limits.maxHeaderCount}`);
  // `total` counts short headers in UTF-16 units, so 3 × total bounds the bytes from above; count exactly only past it.
  if (total * 3 > limits.maxHeadersBytes) {
    const exact = exactHeaderBytes(headers);
    if (exact > limits.maxHeadersBytes) throw new MessageTooLargeError(`headers total ${exact} bytes, limit is ${limits.maxHeadersBytes}`);
  }
}

/** The UTF-8 size of all header names and values. */
export function exactHeaderBytes(headers: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const name in headers) total += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  return total;
}

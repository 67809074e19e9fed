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
  if (bodyBytes > limits.maxBodyBytes) {
    throw new MessageTooLargeError(`body is ${bodyBytes} bytes, limit is ${limits.maxBodyBytes}`);
  }
  let total = 0;
  let count = 0;
  for (const name in headers) {
    const value = headers[name]!;
    const size = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (size > limits.maxHeaderBytes) {
      throw new MessageTooLargeError(`header ${JSON.stringify(name.slice(0, 64))} is ${size} bytes, limit is ${limits.maxHeaderBytes}`);
    }
    total += size;
    count++;
  }
  if (count > limits.maxHeaderCount) throw new MessageTooLargeError(`${count} headers, limit is ${limits.maxHeaderCount}`);
  if (total > limits.maxHeadersBytes) throw new MessageTooLargeError(`headers total ${total} bytes, limit is ${limits.maxHeadersBytes}`);
}

/**
 * A blocking read that outlives its BLOCK by a grace period is on a dead
 * link (a blackhole: no reset, no reply): its connection is dropped so it
 * reconnects, and the read rejects rather than hang (subscription.ts).
 */
import type { Redis } from "ioredis";

export async function guardedRead<T>(reader: Redis, read: Promise<T>, blockMs: number, graceMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reader.disconnect(true);
      reject(new Error(`the blocking read did not return within ${blockMs + graceMs} ms: reconnecting its connection`));
    }, blockMs + graceMs);
  });
  try {
    return await Promise.race([read, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Commands of one batch or turn written to the server together, without
 * ioredis's Pipeline. Measured (ioredis 5, one pipeline per publish at 2,000
 * publishes/s): what a Pipeline held survived the scavenges it should have
 * died in, 1.5–5 MB promoted per scavenge and scavenges of 6–15 ms where the
 * same commands sent plainly promoted nothing and took ~1 ms; those pauses
 * were the tail of missive's publish→handler latency. (Each Pipeline defines
 * an own accessor with a closure of its own, `length`, in its constructor.)
 * Plain commands written while the socket is corked go out in one write, as
 * the pipeline's did, in the order they were called.
 */
import type { Redis } from "ioredis";

/** A command's reply as a pipeline gave it: its error, or null and its value. */
export type Reply = [Error | null, unknown];

/** Run `send` (which calls commands on `redis`) with the connection's socket corked, so its commands leave in one write. */
export function corked<T>(redis: Pick<Redis, "status" | "stream">, send: () => T): T {
  // Not ready: the commands wait in ioredis's offline queue (in order), and the socket is not theirs to cork.
  const socket = redis.status === "ready" ? redis.stream : undefined;
  socket?.cork();
  try {
    return send();
  } finally {
    socket?.uncork();
  }
}

/** The replies of commands sent together, each as `[error, value]`, once all have come. */
export function repliesOf(sent: ReadonlyArray<Promise<unknown>>): Promise<Reply[]> {
  return Promise.all(sent.map((p) => p.then(ok, failed)));
}

const ok = (value: unknown): Reply => [null, value];
const failed = (err: unknown): Reply => [err instanceof Error ? err : new Error(String(err)), null];

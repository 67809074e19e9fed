import type { PoolClient } from "pg";

/**
 * While a client is checked out of a pg pool, the pool's own error listener
 * is detached; if the server dies while we hold the client between queries
 * (during a publish, or a handler's effects), pg emits `error` on it and,
 * with no listener, the process crashes. The error needs no handling here:
 * the next query on the client fails and its caller releases it as broken.
 * Returns the function that detaches the listener again.
 */
export function holdClient(client: PoolClient): () => void {
  const ignore = (): void => undefined;
  client.on("error", ignore);
  return () => {
    client.removeListener("error", ignore);
  };
}

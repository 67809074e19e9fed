/** Checks that a `pool` option is a node-postgres Pool (not a client, not anything else). */
import type { Pool } from "pg";
import { ConfigurationError } from "../../errors.js";

export function checkPool(value: unknown, what: string): Pool {
  const p = value as Partial<Pool> | null | undefined;
  if (!p || typeof p !== "object" || typeof p.connect !== "function" || typeof p.query !== "function" || !("idleCount" in p)) {
    throw new ConfigurationError(`${what}: \`pool\` must be a node-postgres Pool (new pg.Pool(...))`);
  }
  return p as Pool;
}

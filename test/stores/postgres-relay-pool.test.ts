/** PostgreSQL-specific: a relay holds one pool connection for LISTEN, so a one-connection pool would starve its claims. */
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { postgresOutbox } from "../../src/stores/postgres/index.js";
import { pgPool } from "../conformance/stores/postgres.target.js";

describe("postgres outbox", () => {
  it("postgres outbox - a relay on a pool of max 1 is a ConfigurationError (one connection LISTENs)", async () => {
    const pool = pgPool(1);
    try {
      const outbox = postgresOutbox({ pool, source: "x" });
      expect(() => outbox.relay({ transport: createMemoryBroker().transport() })).toThrow(ConfigurationError);
    } finally {
      await pool.end();
    }
  });
});

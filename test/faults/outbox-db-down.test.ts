/**
 * Fault: the relay's PostgreSQL goes down (SIGKILL of a server of the test's
 * own, never the shared one). The relay backs off with exponential delays
 * and full jitter instead of storming the database, and resumes when it is
 * back: nothing committed is lost.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { postgresOutbox } from "../../src/stores/postgres/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { startBroker, type BrokerProcess } from "../support/broker-process.js";
import { createChecker } from "../support/checker.js";
import { sleep, waitFor } from "../support/wait.js";
import { GROUP, outboxWorld } from "./outbox-fault-support.js";

let server: BrokerProcess;
beforeAll(async () => {
  server = await startBroker("postgres");
});
afterAll(async () => {
  await server?.stop();
});

describe("faults - outbox relay, database down", () => {
  it("faults - postgres killed under a running relay: it backs off (no storm), resumes after the restart, lost 0", async () => {
    const w = await outboxWorld(server.url);
    const pool = new pg.Pool({ connectionString: server.url, max: 3, connectionTimeoutMillis: 2000 });
    pool.on("error", () => undefined);
    const bus = await missive({ service: "fault-consumer", transport: sqliteTransport({ path: w.brokerPath }) });
    const relay = postgresOutbox({ pool, table: w.names.outbox, source: "x" }).relay({
      transport: sqliteTransport({ path: w.brokerPath }), pollIntervalMs: 100, backoff: { baseMs: 50, maxMs: 800 },
    });
    try {
      const checker = createChecker();
      await bus.consume(OrderPlaced, { group: GROUP }, (_d, ctx) => checker.handled(ctx.message.id)).ready;
      for (let i = 0; i < 10; i++) await w.write(checker, [[`k${i}`, i], [`j${i}`, i]]);
      await waitFor(() => checker.check().handled === 20, 30_000, "the first 20 rows");

      await server.kill();
      const before = relay.stats.failures;
      await sleep(4000);
      const failed = relay.stats.failures - before;
      // Polling every 100 ms without backoff would fail ~40 rounds in 4 s; a hot loop thousands.
      // Full jitter capped at 800 ms averages 400 ms once saturated: about 10-15 rounds.
      console.log(`[fault] outbox relay, postgres down 4 s: failed rounds=${failed}`);
      expect(failed).toBeGreaterThanOrEqual(2);
      expect(failed).toBeLessThanOrEqual(25);

      await server.restart();
      for (let i = 10; i < 20; i++) await w.write(checker, [[`k${i}`, i], [`j${i}`, i]]);
      await waitFor(() => checker.check().handled === 40, 30_000, "every row after the restart");
      expect(checker.check().lost).toEqual([]);
      expect((await relay.lag()).unsent).toBe(0);
    } finally {
      await relay.stop();
      await bus.close({ deadline: 1000 });
      await pool.end().catch(() => undefined);
      await w.teardown();
    }
  });
});

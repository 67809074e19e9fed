/**
 * A consumer's state and its stop, seen without reading logs: a consumer that
 * stopped on an error was silent without a logger, `ready` resolved and
 * `stats()` had no state (issue 14, "Stops and states nobody sees").
 */
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { ClosedError, ConfigurationError, ErrorCodes, missive, type Bus, type StatusEvent } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { mysqlInbox } from "../../src/stores/mysql/index.js";
import { sqliteInboxStore } from "../../src/stores/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { pgPool } from "../conformance/stores/postgres.target.js";
import { mysqlPool } from "../conformance/stores/mysql.target.js";
import { spoolFiles } from "../support/spool-files.js";
import { waitFor } from "../support/wait.js";

const buses: Bus[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
});
const pool = pgPool(2);
const mysql = mysqlPool(2);
afterAll(async () => {
  await pool.end();
  await mysql.end();
});
const unique = (): string => `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

async function busWithEvents(logger?: Parameters<typeof missive>[0]["logger"]): Promise<{ bus: Bus; events: StatusEvent[] }> {
  const broker = createMemoryBroker({ seed: 3 });
  const bus = await missive({ service: "state", transport: broker.transport(), ...(logger ? { logger } : {}) });
  buses.push(bus);
  const events: StatusEvent[] = [];
  bus.onStatus((e) => void events.push(e));
  return { bus, events };
}

describe("consumer state", () => {
  it("consumer state - an inbox table never migrated (postgres) fails the start with the migrate command: ready rejects, state failed, stopped resolves with the error, a status event, a line on stderr without a logger", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const { bus, events } = await busWithEvents();
    const table = unique();
    const consumer = bus.consume(OrderPlaced, { group: "billing", idempotency: postgresInbox({ pool, table }) }, () => undefined);
    const error = await consumer.ready.then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toContain(`missive migrate --url postgres://… --only inbox --inbox-table ${table}`);
    expect(await consumer.stopped).toBe(error);
    expect(consumer.state).toBe("failed");
    expect(consumer.stats().state).toBe("failed");
    expect(events).toContainEqual(expect.objectContaining({ type: "consumer", group: "billing", state: "failed", reason: expect.stringContaining(ErrorCodes.CONFIG) }));
    const lines = stderr.mock.calls.map((c) => String(c[0]));
    expect(lines.filter((l) => l.includes('consumer of group "billing" stopped'))).toHaveLength(1);
  });

  it("consumer state - an inbox table never migrated (mysql, sqlite) fails the start with the migrate command", async () => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const { bus } = await busWithEvents();
    const db = new Database(":memory:");
    const a = bus.consume(OrderPlaced, { group: "a", idempotency: mysqlInbox({ pool: mysql, table: unique() }) }, () => undefined);
    const b = bus.consume(OrderPlaced, { group: "b", idempotency: sqliteInboxStore({ database: db }) }, () => undefined);
    await expect(a.ready).rejects.toThrow(/missive migrate --url mysql:\/\/… --only inbox --inbox-table/);
    await expect(b.ready).rejects.toThrow("missive migrate --url sqlite://… --only inbox` (or call inbox.migrate() once at startup)");
    db.close();
  });

  it("consumer state - a migrated inbox table starts normally", async () => {
    const { bus } = await busWithEvents();
    const table = unique();
    const inbox = postgresInbox({ pool, table });
    await inbox.migrate();
    try {
      const consumer = bus.consume(OrderPlaced, { group: "billing", idempotency: inbox }, () => undefined);
      await consumer.ready;
      expect(consumer.state).toBe("running");
    } finally {
      await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    }
  });

  it("consumer state - a fatal handler error: state failed, stopped resolves with the error, status event; a logger gets it instead of stderr", async () => {
    const stderr = vi.spyOn(process.stderr, "write");
    const errors: string[] = [];
    const { bus, events } = await busWithEvents({ debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_o, msg) => void errors.push(msg ?? "") });
    const fatal = new ConfigurationError("no credentials for the downstream");
    const consumer = bus.consume(OrderPlaced, { group: "billing" }, () => {
      throw fatal;
    });
    await consumer.ready;
    expect(consumer.state).toBe("running");
    await bus.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 });
    expect(await consumer.stopped).toBe(fatal);
    expect(consumer.state).toBe("failed");
    expect(errors).toContain("consumer stopped");
    expect(stderr.mock.calls.map((c) => String(c[0])).some((l) => l.includes("missive: consumer"))).toBe(false);
    const states = events.filter((e) => e.type === "consumer").map((e) => (e as { state: string }).state);
    expect(states).toEqual(["running", "failed"]);
  });

  it("consumer state - close: running, stopping, stopped; stopped resolves with undefined", async () => {
    const { bus, events } = await busWithEvents();
    const consumer = bus.consume(OrderPlaced, { group: "billing" }, () => undefined);
    await consumer.ready;
    await consumer.close(200);
    expect(await consumer.stopped).toBeUndefined();
    expect(consumer.state).toBe("stopped");
    await waitFor(() => events.length >= 3, 1_000, "three consumer events");
    expect(events.filter((e) => e.type === "consumer").map((e) => (e as { state: string }).state)).toEqual(["running", "stopping", "stopped"]);
  });
});

describe("bus status after close", () => {
  const { spoolPath } = spoolFiles("status-closed");
  it("bus status - status() after close() on a bus with a spool throws ClosedError, not the SQLite driver's TypeError", async () => {
    const broker = createMemoryBroker({ seed: 4 });
    const bus = await missive({ service: "closed", transport: broker.transport(), publisher: { spool: spoolPath() } });
    expect(bus.status().spool).toBeDefined();
    await bus.close();
    expect(() => bus.status()).toThrow(ClosedError);
  });
});

describe("change the URL", () => {
  it('change the URL - idempotency: "inbox" without an inbox store throws at consume() with the store, its import and the migrate command to paste', async () => {
    const { bus } = await busWithEvents();
    let error: unknown;
    try {
      bus.consume(OrderPlaced, { group: "billing", idempotency: "inbox" }, () => undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('import { postgresInbox } from "missive/stores/postgres"');
    expect(message).toContain("missive({ service, transport, inbox })");
    expect(message).toContain(`group "billing"`);
    expect(message).toContain("missive migrate --url postgres://… --only inbox");
  });
});

/**
 * Dead letters kept in a database, on the memory transport with its native
 * dead-letter store switched off: the whole path through the bus.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, MessageTooLargeError, PermanentError, defineMessage, missive, type Bus, type Logger } from "../../src/index.js";
import { emptyHeaders } from "../../src/envelope/wire.js";
import { sqliteDeadLetters, type SqliteDeadLetters } from "../../src/stores/sqlite/index.js";
import { createMemoryBroker, type MemoryBroker } from "../../src/transports/memory/index.js";
import { waitFor } from "../support/wait.js";
import { deadLettersOf, statsOf } from "../support/abilities.js";

const Order = defineMessage({ type: "dbdl.order", schema: z.object({ orderId: z.string() }), key: (o) => o.orderId });

let dir: string;
let db: Database.Database;
let store: SqliteDeadLetters;
let broker: MemoryBroker;
const buses: Bus[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "missive-dbdl-"));
  db = new Database(join(dir, "dead-letters.db"));
  store = sqliteDeadLetters({ database: db });
  store.migrate();
  broker = createMemoryBroker();
});
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function busOn(options: { native?: boolean; deadLetters?: SqliteDeadLetters; logger?: Logger } = {}): Promise<Bus> {
  const transport = broker.transport({ capabilities: { nativeDeadLetter: options.native ?? false } });
  const bus = await missive({ service: "dbdl", transport, ...(options.deadLetters ? { deadLetters: options.deadLetters } : {}), ...(options.logger ? { logger: options.logger } : {}) });
  buses.push(bus);
  return bus;
}

describe("database dead letters", () => {
  it("database dead letters - a poison message lands in the table with full diagnostics; replay brings it back to the handler under the same id", async () => {
    const bus = await busOn({ deadLetters: store });
    const handled: Array<{ id: string; attempt: number }> = [];
    let broken = true;
    await bus.consume(Order, { group: "billing" }, (_order, ctx) => {
      if (broken) throw new PermanentError("card declined");
      handled.push({ id: ctx.message.id, attempt: ctx.attempt });
    }).ready;
    const { id } = await bus.publish(Order, { orderId: "o-1" });
    await waitFor(async () => (await store.count()) === 1, 5_000, "the dead letter in the table");
    const [entry] = await bus.deadLetters().list();
    expect(entry).toMatchObject({ messageId: id, group: "billing", topic: "dbdl.order", key: "o-1" });
    expect(entry!.diagnostics).toMatchObject({ errorClass: "PermanentError", errorCode: "MISSIVE_PERMANENT", errorMessage: "card declined", reason: "permanent", attempts: 1, group: "billing", source: "dbdl.order" });
    expect(entry!.diagnostics.host).toBeTruthy();
    expect(entry!.diagnostics.version).toBeTruthy();
    // Acked: nothing left in the group's queue, and no fallback topic was used.
    expect(broker.stats()).toMatchObject({ acked: 1 });
    expect((await statsOf(bus.transport)).map((s) => s.group)).toEqual(["billing"]);
    broken = false;
    expect(await bus.deadLetters().replay([entry!.entryId])).toBe(1);
    await waitFor(() => handled.length === 1, 5_000, "the replayed message");
    expect(handled).toEqual([{ id, attempt: 1 }]);
    expect(await store.count()).toBe(0);
  });

  it("database dead letters - an undecodable message without an id is kept under a stable hash id, once per copy", async () => {
    const bus = await busOn({ deadLetters: store });
    await bus.consume(Order, { group: "billing" }, () => undefined).ready;
    const headers = Object.assign(emptyHeaders(), { "content-type": "application/json", "x-plain": "client" });
    for (let i = 0; i < 2; i++) await bus.transport.publish([{ topic: "dbdl.order", id: `raw-${i}`, key: undefined, wire: { headers, body: Buffer.from("{not json") } }]);
    await waitFor(async () => broker.stats().acked === 2, 5_000, "both copies dead-lettered");
    const entries = await bus.deadLetters().list();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.messageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(entries[0]!.diagnostics).toMatchObject({ errorCode: "MISSIVE_DECODE", reason: "poison" });
  });

  it("database dead letters - the configured database store wins over the transport's native one", async () => {
    const bus = await busOn({ native: true, deadLetters: store });
    await bus.consume(Order, { group: "billing" }, () => {
      throw new PermanentError("no");
    }).ready;
    await bus.publish(Order, { orderId: "o-2" });
    await waitFor(async () => (await store.count()) === 1, 5_000, "the dead letter in the table");
    expect(await deadLettersOf(bus.transport).count()).toBe(0);
    expect(await bus.deadLetters().count()).toBe(1);
  });

  it("database dead letters - an entry the store refuses is not acked: the failure is logged with its typed error and the message comes back", async () => {
    const logged: unknown[] = [];
    const capture = (o: unknown): void => {
      logged.push((o as { err?: unknown } | undefined)?.err);
    };
    const logger: Logger = { error: capture, warn: capture, info: () => undefined, debug: () => undefined };
    const tiny = sqliteDeadLetters({ database: db, maxEntryBytes: 1024 });
    const bus = await busOn({ deadLetters: tiny, logger });
    await bus.consume(Order, { group: "billing" }, () => {
      throw new PermanentError("no");
    }).ready;
    const { id } = await bus.publish(Order, { orderId: "x".repeat(2000) });
    await waitFor(() => logged.some((e) => e instanceof MessageTooLargeError), 5_000, "the logged MessageTooLargeError");
    expect(await tiny.count()).toBe(0);
    expect(broker.stats().acked).toBe(0);
    // Never settled: once its consumer is gone, the message is handed out again.
    await bus.close();
    const next = await busOn({ deadLetters: store });
    const got: string[] = [];
    await next.consume(Order, { group: "billing" }, (_o, ctx) => {
      got.push(ctx.message.id);
    }).ready;
    await waitFor(() => got.length === 1, 5_000, "the message back");
    expect(got).toEqual([id]);
  });

  it("database dead letters - a deadLetters option that is not a store is a ConfigurationError", async () => {
    await expect(missive({ service: "dbdl", transport: broker.transport(), deadLetters: {} as SqliteDeadLetters })).rejects.toBeInstanceOf(ConfigurationError);
  });
});

/**
 * PostgreSQL-specific: a connection missive holds out of the pool (a relay's
 * claim across a publish, the inbox transaction across a handler's effects,
 * the relay's LISTEN connection) can be terminated by the server at any
 * moment. That must surface as a typed ConnectionError from the next call, never
 * as a crash of the process (an `error` event with no listener) or a second
 * release of the client to the pool.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError } from "../../src/index.js";
import { postgresInbox, postgresOutbox } from "../../src/stores/postgres/index.js";
import { PostgresRelaySource } from "../../src/stores/postgres/relay-source.js";
import { dropSchema } from "../../src/stores/sql/schema.js";
import type { Delivery } from "../../src/transport/transport.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { pgPool } from "../conformance/stores/postgres.target.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";
import { sleep } from "../support/wait.js";

const s = uniqueSuffix();
const OUTBOX = `dc_outbox_${s}`;
const INBOX = `dc_inbox_${s}`;
const pool = pgPool(6);
const admin = pgPool(2);

/** Terminate the backends of this test's pool that run (or last ran) a statement matching `like`. */
async function terminate(like: string): Promise<number> {
  const r = await admin.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1",
    [like],
  );
  for (const { pid } of r.rows) await admin.query("SELECT pg_terminate_backend($1)", [pid]);
  return r.rows.length;
}

beforeAll(async () => {
  await postgresOutbox({ pool, table: OUTBOX, source: "dc" }).migrate();
  await postgresInbox({ pool, table: INBOX }).migrate();
});
afterAll(async () => {
  for (const sql of dropSchema("postgres", OUTBOX, INBOX)) await admin.query(sql).catch(() => undefined);
  await pool.end();
  await admin.end();
});

describe("postgres - connections terminated while missive holds them", () => {
  it("postgres - a relay claim whose connection dies before settle rejects with a ConnectionError; the rows stay unsent", async () => {
    const outbox = postgresOutbox({ pool, table: OUTBOX, source: "dc" });
    const c = await pool.connect();
    try {
      await outbox.add(c, OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 1 });
    } finally {
      c.release();
    }
    const source = new PostgresRelaySource(pool, OUTBOX, 100);
    try {
      const batch = await source.claim(10);
      expect(batch?.rows).toHaveLength(1);
      // The claim's transaction is idle while the relay publishes: kill it there.
      expect(await terminate(`SELECT%FROM "${OUTBOX}"%`)).toBeGreaterThanOrEqual(1);
      await sleep(200); // the FATAL reaches the held client as an error event
      await expect(batch!.settle(batch!.rows, [])).rejects.toBeInstanceOf(ConnectionError);
      expect((await source.lag()).unsent).toBe(1);
    } finally {
      await source.close();
    }
  });

  it("postgres - an inbox transaction whose connection dies during the effects rejects with a ConnectionError and records nothing", async () => {
    const inbox = postgresInbox({ pool, table: INBOX });
    const outcome = inbox.runOnce("g", "m-1", {} as Delivery, async (tx) => {
      await tx.query("SELECT 'dc-effect'");
      expect(await terminate("SELECT 'dc-effect'")).toBe(1);
      await sleep(200);
      return "done";
    });
    await expect(outcome).rejects.toBeInstanceOf(ConnectionError);
    const rows = await admin.query(`SELECT 1 FROM "${INBOX}" WHERE message_id = 'm-1'`);
    expect(rows.rowCount).toBe(0);
    inbox.close();
  });

  it("postgres - the relay's LISTEN connection killed just before close: close resolves, the client is released once", async () => {
    for (let i = 0; i < 5; i++) {
      const source = new PostgresRelaySource(pool, OUTBOX, 100);
      const ctl = new AbortController();
      await source.wait(1, ctl.signal); // opens the LISTEN connection
      // At least ours: a backend terminated in the previous round may still be listed while it exits.
      expect(await terminate(`LISTEN "${OUTBOX}"`)).toBeGreaterThanOrEqual(1);
      await expect(source.close()).resolves.toBeUndefined();
    }
    expect((await pool.query("SELECT 1 AS one")).rows[0]).toEqual({ one: 1 });
  });
});

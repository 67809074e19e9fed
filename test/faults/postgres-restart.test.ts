/**
 * Faults of the database itself, on a PostgreSQL cluster of this file's own
 * (initdb into a temp dir, another loopback port; the shared server at 5432
 * is never touched):
 *
 * - SIGKILL of the postmaster mid-stream, then a restart on the same data
 *   directory, while a producer publishes a keyed stream (one sequential
 *   stream per key) and an ordered consumer with the inbox works through it,
 *   writing its effect in the inbox's transaction. Counted: lost confirmed 0,
 *   double effects 0, per-key order violations 0; neither bus crashes.
 * - `missive doctor` exits 3 once the server runs with synchronous_commit=off.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { uuidv7 } from "../../src/envelope/uuidv7.js";
import type { InboxStore } from "../../src/stores/inbox.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { cli, ensureBuilt } from "../cli/helpers.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { startBroker, type BrokerProcess } from "../support/broker-process.js";
import { sleep, waitFor } from "../support/wait.js";

const GROUP = "pg-faults";
const COUNT = 1500;
const KEYS = 20;

describe("faults - postgres own cluster: SIGKILL and restart, doctor", () => {
  let server: BrokerProcess;
  beforeAll(async () => {
    ensureBuilt();
    server = await startBroker("postgres");
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  async function bus(prefix: string): Promise<Bus> {
    const transport = postgresTransport({ connectionString: server.url, tablePrefix: prefix, pollMaxMs: 200 });
    await transport.prepareTables();
    const inbox = postgresInbox({ pool: transport.pool, table: transport.tables.inbox });
    return missive({ service: "pg-fault", transport, inbox: inbox as InboxStore<unknown>, publisher: { timeout: "60s" } });
  }

  it("faults - postgres: SIGKILL and restart of the server (the postmaster, mid-stream) loses no confirmed message, doubles no effect, breaks no key's order", async () => {
    const prefix = `f_${randomBytes(4).toString("hex")}_`;
    const db = new pg.Pool({ connectionString: server.url, max: 2 });
    db.on("error", () => undefined); // the kill below breaks idle clients; the reads after the restart use fresh ones
    const producer = await bus(prefix);
    const consumer = await bus(prefix);
    try {
      await producer.declare(OrderPlaced, GROUP);
      await db.query(`CREATE TABLE ${prefix}effects (n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, key TEXT NOT NULL, seq INT NOT NULL)`);
      let handled = 0;
      await consumer.consume(OrderPlaced, { group: GROUP, ordered: true, concurrency: 16, idempotency: "inbox" }, async (order, ctx) => {
        handled++;
        await ctx.transaction((tx) => (tx as pg.PoolClient).query(`INSERT INTO ${prefix}effects (id, key, seq) VALUES ($1, $2, $3)`, [ctx.message.id, order.orderId, order.seq]));
      }).ready;

      const confirmedIds: string[] = [];
      const errors: unknown[] = [];
      let killed = false;
      const stream = Promise.all(Array.from({ length: KEYS }, async (_, k) => {
        for (let seq = 0; seq * KEYS + k < COUNT; seq++) {
          const id = uuidv7();
          try {
            await producer.publish(OrderPlaced, { orderId: `k${k}`, seq, totalCents: 1 }, { id });
            confirmedIds.push(id);
          } catch (err) {
            // A key's stream stops at its first failure: later messages would overtake a lost one.
            errors.push(err);
            return;
          }
        }
      }));
      await waitFor(() => confirmedIds.length >= COUNT / 3 && handled > 50, 60_000, "the stream under way");
      await server.kill();
      killed = true;
      await sleep(1_000);
      await server.restart();
      await stream;
      expect(killed).toBe(true);
      expect(errors).toEqual([]);

      await waitFor(async () => Number((await db.query(`SELECT count(DISTINCT id)::int AS n FROM ${prefix}effects`)).rows[0].n) >= confirmedIds.length, 90_000, "every confirmed message's effect");
      const rows = (await db.query<{ id: string; key: string; seq: number }>(`SELECT id, key, seq FROM ${prefix}effects ORDER BY n`)).rows;
      const seen = new Set(rows.map((r) => r.id));
      const lost = confirmedIds.filter((id) => !seen.has(id));
      const doubles = rows.length - seen.size;
      let orderViolations = 0;
      const last = new Map<string, number>();
      for (const r of rows) {
        if ((last.get(r.key) ?? -1) >= r.seq) orderViolations++;
        last.set(r.key, r.seq);
      }
      expect({ lost: lost.length, doubles, orderViolations }).toEqual({ lost: 0, doubles: 0, orderViolations: 0 });
    } finally {
      await consumer.close({ deadline: 5_000 });
      await producer.close({ deadline: 5_000 });
      await db.end();
    }
  }, 240_000);

  it("faults - postgres: doctor exits 0 on a crash-safe server and 3 once synchronous_commit is off", async () => {
    const prefix = `d_${randomBytes(4).toString("hex")}_`;
    const url = `${server.url}?tablePrefix=${prefix}`;
    const t = postgresTransport({ connectionString: server.url, tablePrefix: prefix });
    await t.connect();
    await t.close();
    const safe = await cli(["doctor", "--url", url]);
    expect(safe.code, safe.stdout + safe.stderr).toBe(0);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query("ALTER SYSTEM SET synchronous_commit = off");
      await admin.query("SELECT pg_reload_conf()");
      await sleep(500);
      const unsafe = await cli(["doctor", "--url", url]);
      expect(unsafe.code, unsafe.stdout + unsafe.stderr).toBe(3);
      expect(unsafe.stdout).toContain("synchronous_commit: off");
      expect(unsafe.stdout).toContain("WARNING: synchronous_commit is off");
    } finally {
      await admin.query("ALTER SYSTEM RESET synchronous_commit");
      await admin.query("SELECT pg_reload_conf()");
      await admin.end();
    }
  }, 60_000);
});

/**
 * Outbox fault tests on PostgreSQL: tables of the test's own (outbox, inbox,
 * effects with a serial column so the order of effects per key shows), a
 * SQLite transport file as the broker with the group bound, writes recorded
 * in a checker (attempted before COMMIT, confirmed after), and read-back.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { postgresInbox, postgresOutbox, type PostgresOutbox } from "../../src/stores/postgres/index.js";
import { dropSchema } from "../../src/stores/sql/schema.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { PG_CONFIG } from "../conformance/stores/postgres.target.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";
import type { Checker } from "../support/checker.js";

export const GROUP = "billing";

export interface OutboxWorld {
  readonly pgUrl: string;
  readonly pool: pg.Pool;
  readonly outbox: PostgresOutbox;
  readonly names: { readonly outbox: string; readonly inbox: string; readonly effects: string };
  readonly brokerPath: string;
  /** One transaction adding `rows` (key, seq) to the outbox; recorded in the checker. */
  write(checker: Checker, rows: ReadonlyArray<readonly [string, number]>): Promise<void>;
  /** Effects as committed, in commit order: id, key, seq. */
  effects(): Promise<Array<{ id: string; key: string; seq: number }>>;
  teardown(): Promise<void>;
}

export async function outboxWorld(pgUrl = `postgres://${PG_CONFIG.user}@${PG_CONFIG.host}:${PG_CONFIG.port}/${PG_CONFIG.database}`): Promise<OutboxWorld> {
  const pool = new pg.Pool({ connectionString: pgUrl, max: 6 });
  pool.on("error", () => undefined);
  const s = uniqueSuffix();
  const names = { outbox: `f_outbox_${s}`, inbox: `f_inbox_${s}`, effects: `f_effects_${s}` };
  const outbox = postgresOutbox({ pool, table: names.outbox, source: "fault-writer" });
  await outbox.migrate();
  await postgresInbox({ pool, table: names.inbox }).migrate();
  await pool.query(`CREATE TABLE "${names.effects}" (n BIGSERIAL PRIMARY KEY, message_id TEXT NOT NULL, msg_key TEXT NOT NULL, seq INTEGER NOT NULL)`);
  const dir = mkdtempSync(join(tmpdir(), "missive-outbox-faults-"));
  const brokerPath = join(dir, "broker.db");
  const t = sqliteTransport({ path: brokerPath });
  await t.connect();
  await t.bind(GROUP, [OrderPlaced.type]);
  await t.close();
  return {
    pgUrl,
    pool,
    outbox,
    names,
    brokerPath,
    async write(checker, rows) {
      const c = await pool.connect();
      const ids: string[] = [];
      try {
        await c.query("BEGIN");
        for (const [key, seq] of rows) {
          const { id } = await outbox.add(c, OrderPlaced, { orderId: key, seq, totalCents: 1 });
          checker.attempted(id);
          ids.push(id);
        }
        await c.query("COMMIT");
        for (const id of ids) checker.confirmed(id);
      } finally {
        c.release();
      }
    },
    async effects() {
      const r = await pool.query<{ message_id: string; msg_key: string; seq: number }>(`SELECT message_id, msg_key, seq FROM "${names.effects}" ORDER BY n`);
      return r.rows.map((x) => ({ id: x.message_id, key: x.msg_key, seq: x.seq }));
    },
    async teardown() {
      for (const sql of [...dropSchema("postgres", names.outbox, names.inbox), `DROP TABLE IF EXISTS "${names.effects}"`]) await pool.query(sql).catch(() => undefined);
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Per key, the seqs of its effects in commit order must increase (and no effect twice). */
export function keyOrderViolations(effects: ReadonlyArray<{ key: string; seq: number }>): string[] {
  const last = new Map<string, number>();
  const bad: string[] = [];
  for (const e of effects) {
    const prev = last.get(e.key);
    if (prev !== undefined && e.seq <= prev) bad.push(`${e.key}: ${e.seq} after ${prev}`);
    last.set(e.key, e.seq);
  }
  return bad;
}

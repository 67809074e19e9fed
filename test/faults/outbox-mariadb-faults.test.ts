/**
 * Fault: relays racing on one MariaDB outbox table, one SIGKILLed between a
 * transport confirm and marking its rows sent (InnoDB rolls its transaction
 * back when the connection drops, releasing the claimed heads), and a
 * transaction held open while later ones commit. After the drain: lost 0,
 * double effects 0 (MariaDB inbox), each key's effects in order, and every
 * row of the killed batch published again under the same id.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterEach, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { mysqlInbox, mysqlOutbox } from "../../src/stores/mysql/index.js";
import { dropSchema } from "../../src/stores/sql/schema.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { MYSQL_CONFIG, mysqlPool } from "../conformance/stores/mysql.target.js";
import { uniqueSuffix } from "../conformance/stores/store-target.js";
import type { OutboxRelayArgs, OutboxRelayMessage } from "../fixtures/outbox-relay.js";
import { createChecker, type Checker } from "../support/checker.js";
import { forkFixture, killFixtures, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { sleep, waitFor } from "../support/wait.js";
import { GROUP, keyOrderViolations } from "./outbox-fault-support.js";

afterEach(() => killFixtures());

describe("faults - outbox relay on mariadb", () => {
  it("faults - mariadb: relays racing, one SIGKILLed between confirm and mark, a late commit: lost 0, double effects 0, key order kept", { timeout: 120_000 }, async () => {
    const pool = mysqlPool(8);
    const s = uniqueSuffix();
    const names = { outbox: `f_outbox_${s}`, inbox: `f_inbox_${s}`, effects: `f_effects_${s}` };
    const dir = mkdtempSync(join(tmpdir(), "missive-outbox-mariadb-"));
    const brokerPath = join(dir, "broker.db");
    const dbUrl = `mysql://${MYSQL_CONFIG.user}@${MYSQL_CONFIG.host}:${MYSQL_CONFIG.port}/${MYSQL_CONFIG.database}`;
    const outbox = mysqlOutbox({ pool, table: names.outbox, source: "fault-writer" });
    const inbox = mysqlInbox({ pool, table: names.inbox });
    const bus = await missive({ service: "fault-consumer", transport: sqliteTransport({ path: brokerPath }) });
    try {
      await outbox.migrate();
      await inbox.migrate();
      await pool.query(`CREATE TABLE \`${names.effects}\` (n BIGINT AUTO_INCREMENT PRIMARY KEY, message_id VARCHAR(64) NOT NULL, msg_key VARCHAR(64) NOT NULL, seq INT NOT NULL) ENGINE=InnoDB`);
      const checker = createChecker();
      const confirms = new Map<string, number>();
      await bus.consume(OrderPlaced, { group: GROUP, concurrency: 8, ordered: true, idempotency: inbox }, async (order, ctx) => {
        checker.handled(ctx.message.id);
        await ctx.transaction((c) => c.query(`INSERT INTO \`${names.effects}\` (message_id, msg_key, seq) VALUES (?, ?, ?)`, [ctx.message.id, order.orderId, order.seq]));
      }).ready;

      const write = async (c: Checker, rows: ReadonlyArray<readonly [string, number]>): Promise<void> => {
        const conn = await pool.getConnection();
        const ids: string[] = [];
        try {
          await conn.beginTransaction();
          for (const [key, seq] of rows) {
            const { id } = await outbox.add(conn, OrderPlaced, { orderId: key, seq, totalCents: 1 });
            c.attempted(id);
            ids.push(id);
          }
          await conn.commit();
          for (const id of ids) c.confirmed(id);
        } finally {
          conn.release();
        }
      };
      const startRelay = async (appName: string, stallAfterConfirm = false) => {
        const args: OutboxRelayArgs = { dbUrl, table: names.outbox, brokerPath, appName, batchSize: 16, stallAfterConfirm };
        const child = forkFixture("outbox-relay", [JSON.stringify(args)]);
        child.on("message", (m: OutboxRelayMessage) => {
          if ("confirmed" in m) for (const id of m.confirmed) confirms.set(id, (confirms.get(id) ?? 0) + 1);
        });
        await nextMessage(child, (m: OutboxRelayMessage) => "ready" in m, 30_000, `relay ${appName} ready`);
        return child;
      };

      const held = await pool.getConnection();
      await held.beginTransaction();
      const { id: lateId } = await outbox.add(held, OrderPlaced, { orderId: "late", seq: 0, totalCents: 1 });
      checker.attempted(lateId);

      const victim = await startRelay("victim", true);
      const racer = await startRelay("racer");
      const keys = 20;
      let seq = 0;
      const writeSome = async (rounds: number): Promise<void> => {
        for (let r = 0; r < rounds; r++, seq++) await write(checker, Array.from({ length: 5 }, (_, i) => [`k${(seq * 5 + i) % keys}`, seq] as const));
      };
      const killing = killOnMessage(victim, (m: OutboxRelayMessage) => "confirmed" in m && m.confirmed.length > 0, 30_000, "a confirmed batch on the victim");
      while (!(await Promise.race([killing.then(() => true), sleep(0).then(() => false)]))) await writeSome(1);
      const killedBatch = ((await killing) as { confirmed: string[] }).confirmed;
      const third = await startRelay("third");
      await writeSome(30);
      await held.commit();
      held.release();
      checker.confirmed(lateId);

      const total = checker.check().confirmed;
      await waitFor(async () => (await outbox.lag()).unsent === 0, 60_000, "the relays to drain the outbox");
      const effects = async (): Promise<Array<{ id: string; key: string; seq: number }>> => {
        const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT message_id, msg_key, seq FROM \`${names.effects}\` ORDER BY n`);
        return rows.map((x) => ({ id: x["message_id"] as string, key: x["msg_key"] as string, seq: Number(x["seq"]) }));
      };
      await waitFor(async () => new Set((await effects()).map((e) => e.id)).size >= total, 60_000, "every effect");
      await sleep(300);
      racer.kill("SIGKILL");
      third.kill("SIGKILL");

      const all = await effects();
      const counts = new Map<string, number>();
      for (const e of all) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      for (const [id, n] of counts) checker.effect(id, n);
      const r = checker.check();
      console.log(`[fault] mariadb outbox relays: rows=${total} killed_batch=${killedBatch.length} republished=${[...confirms.values()].filter((n) => n > 1).length} ${checker.summary()}`);
      expect(r.lost).toEqual([]);
      expect(r.doubleEffects).toEqual([]);
      expect(r.missingEffects).toEqual([]);
      expect(r.unexpected).toEqual([]);
      expect(keyOrderViolations(all)).toEqual([]);
      for (const id of killedBatch) expect(confirms.get(id)).toBeGreaterThanOrEqual(2);
      expect(counts.get(lateId)).toBe(1);
    } finally {
      await bus.close({ deadline: 1000 });
      inbox.close();
      for (const sql of [...dropSchema("mysql", names.outbox, names.inbox), `DROP TABLE IF EXISTS \`${names.effects}\``]) await pool.query(sql).catch(() => undefined);
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

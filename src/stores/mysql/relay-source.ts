/**
 * Claiming MySQL/MariaDB outbox rows for a relay, several relays at once: the
 * same head-of-lane scheme as PostgreSQL (docs/adr/003). Heads are found with
 * a consistent (non-locking) read, then locked with `FOR UPDATE SKIP LOCKED`
 * (MariaDB ≥ 10.6, MySQL ≥ 8.0) in a READ COMMITTED transaction, which reads
 * the latest committed version: a head another relay sent meanwhile is no
 * longer unsent and is not returned. READ COMMITTED also takes no gap locks,
 * so the relay never blocks the application's inserts. AUTO_INCREMENT values
 * are handed out before commit, as on PostgreSQL: no high-water mark.
 */
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { OutboxLag } from "../outbox.js";
import { parseHeaders, type ClaimedBatch, type RelayRow, type RelaySource } from "../relay-source.js";
import { toStoreError } from "../sql/errors.js";
import { sleep } from "../../runtime/backoff.js";
import { connectionOf, dispose } from "./pool.js";

interface Row extends RowDataPacket {
  seq: number | string;
  message_id: string;
  topic: string;
  msg_key: string | null;
  lane: string;
  headers: string;
  body: Buffer;
  created_at: number | string;
}

export class MysqlRelaySource implements RelaySource {
  readonly name = "mysql outbox";
  private readonly sql;

  constructor(
    private readonly pool: Pool,
    readonly table: string,
    private readonly window: number,
  ) {
    const t = `\`${table}\``;
    this.sql = {
      heads: `SELECT c.seq, c.lane FROM (SELECT seq, lane FROM ${t} WHERE sent_at IS NULL ORDER BY seq LIMIT ?) c
WHERE NOT EXISTS (SELECT 1 FROM ${t} p WHERE p.lane = c.lane AND p.sent_at IS NULL AND p.seq < c.seq)
ORDER BY c.seq LIMIT ?`,
      lock: `SELECT seq, lane FROM ${t} WHERE seq IN (?) AND sent_at IS NULL FOR UPDATE SKIP LOCKED`,
      rows: `SELECT seq, message_id, topic, msg_key, lane, headers, body, created_at FROM ${t}
WHERE lane IN (?) AND sent_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED`,
      sent: `UPDATE ${t} SET sent_at = ? WHERE seq IN (?)`,
      failed: `UPDATE ${t} SET attempts = attempts + 1, last_error = ? WHERE seq = ?`,
      lag: `SELECT count(*) AS n, min(created_at) AS oldest FROM ${t} WHERE sent_at IS NULL`,
      cleanup: `DELETE FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < ? ORDER BY sent_at LIMIT ?`,
    };
  }

  async claim(max: number): Promise<ClaimedBatch | undefined> {
    const conn: PoolConnection = await connectionOf(this.pool, this.name);
    let done = false;
    const finish = async (sql: string | undefined, broken: boolean): Promise<void> => {
      if (done) return;
      done = true;
      try {
        if (sql !== undefined && !broken) await conn.query(sql);
      } catch (err) {
        broken = true;
        throw toStoreError(err, this.name, "ending the claim failed");
      } finally {
        dispose(conn, broken);
      }
    };
    try {
      await conn.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
      await conn.query("START TRANSACTION");
      const [heads] = await conn.query<RowDataPacket[]>(this.sql.heads, [Math.max(this.window, max), max]);
      const [locked] = heads.length === 0 ? [[] as RowDataPacket[]] : await conn.query<RowDataPacket[]>(this.sql.lock, [heads.map((h) => h["seq"] as unknown)]);
      if (locked.length === 0) {
        await finish("ROLLBACK", false);
        return undefined;
      }
      const headOf = new Map(locked.map((h) => [h["lane"] as string, Number(h["seq"])]));
      const [rows] = await conn.query<Row[]>(this.sql.rows, [[...headOf.keys()], max]);
      return {
        rows: rows.filter((r) => Number(r.seq) >= headOf.get(r.lane)!).map(toRelayRow),
        settle: async (sent, failed) => {
          try {
            if (sent.length > 0) await conn.query(this.sql.sent, [Date.now(), sent.map((r) => r.seq)]);
            for (const f of failed) await conn.query(this.sql.failed, [f.error.message.slice(0, 2000), f.row.seq]);
          } catch (err) {
            await finish(undefined, true);
            throw toStoreError(err, this.name, "marking rows sent failed");
          }
          await finish("COMMIT", false);
        },
        // A failed ROLLBACK released the connection as broken: the server rolls the claim back as it closes.
        abandon: () => finish("ROLLBACK", false).catch(() => undefined),
      };
    } catch (err) {
      await finish(undefined, true);
      throw toStoreError(err, this.name, "claiming rows failed");
    }
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return sleep(ms, signal);
  }

  async lag(): Promise<OutboxLag> {
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>(this.sql.lag);
      const r = rows[0]!;
      const oldest = r["oldest"] as number | string | null;
      return { unsent: Number(r["n"]), oldestAgeMs: oldest === null ? undefined : Math.max(0, Date.now() - Number(oldest)) };
    } catch (err) {
      throw toStoreError(err, this.name, "reading the lag failed");
    }
  }

  async deleteSent(before: number, limit: number): Promise<number> {
    try {
      const [res] = await this.pool.query<ResultSetHeader>(this.sql.cleanup, [before, limit]);
      return res.affectedRows;
    } catch (err) {
      throw toStoreError(err, this.name, "cleanup failed");
    }
  }

  async close(): Promise<void> {}
}

function toRelayRow(r: Row): RelayRow {
  return {
    seq: Number(r.seq),
    id: r.message_id,
    topic: r.topic,
    key: r.msg_key ?? undefined,
    lane: r.lane,
    wire: { headers: parseHeaders(r.headers), body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength) },
    createdAt: Number(r.created_at),
  };
}

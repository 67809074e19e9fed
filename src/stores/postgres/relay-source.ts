/**
 * Claiming PostgreSQL outbox rows for a relay, several relays at once.
 *
 * A relay claims only the *head* of a lane (the oldest unsent row of a key)
 * with `FOR UPDATE SKIP LOCKED`, then the rest of those lanes behind their
 * heads. While its transaction holds a lane's head, no other relay can see
 * any row of that lane as a head, so rows of one key are never published by
 * two relays at once. No high-water mark: every round looks at all unsent
 * rows, so a row whose transaction commits late (its sequence value handed
 * out long before) is claimed when it becomes visible (docs/adr/003).
 * Rows are claimed from the oldest `window` unsent rows, which bounds the
 * work of one claim however large the backlog.
 */
import type { Pool, PoolClient } from "pg";
import type { OutboxLag } from "../outbox.js";
import { parseHeaders, type ClaimedBatch, type RelayRow, type RelaySource } from "../relay-source.js";
import { toStoreError } from "../sql/errors.js";
import { holdClient } from "./checked-out.js";

interface Row {
  seq: string;
  message_id: string;
  topic: string;
  msg_key: string | null;
  lane: string;
  headers: string;
  body: Buffer;
  created_at: string;
}

export function toRelayRow(r: Row): RelayRow {
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

export class PostgresRelaySource implements RelaySource {
  readonly name = "postgres outbox";
  private readonly sql;
  private listener: PoolClient | undefined;
  private listening: Promise<void> | undefined;
  private releaseListener: ((err?: Error | boolean) => void) | undefined;
  private notified = false;
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    readonly table: string,
    private readonly window: number,
  ) {
    const t = `"${table}"`;
    this.sql = {
      heads: `SELECT c.seq, c.lane FROM (SELECT seq, lane FROM ${t} WHERE sent_at IS NULL ORDER BY seq LIMIT $1) c
WHERE NOT EXISTS (SELECT 1 FROM ${t} p WHERE p.lane = c.lane AND p.sent_at IS NULL AND p.seq < c.seq)
ORDER BY c.seq LIMIT $2`,
      lock: `SELECT seq, lane FROM ${t} WHERE seq = ANY($1::bigint[]) AND sent_at IS NULL FOR UPDATE SKIP LOCKED`,
      rows: `SELECT seq, message_id, topic, msg_key, lane, headers, body, created_at FROM ${t}
WHERE lane = ANY($1::text[]) AND sent_at IS NULL ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
      sent: `UPDATE ${t} SET sent_at = $1 WHERE seq = ANY($2::bigint[])`,
      failed: `UPDATE ${t} SET attempts = attempts + 1, last_error = $2 WHERE seq = $1`,
      lag: `SELECT count(*) AS n, min(created_at) AS oldest FROM ${t} WHERE sent_at IS NULL`,
      cleanup: `DELETE FROM ${t} WHERE seq IN (SELECT seq FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY sent_at LIMIT $2)`,
    };
  }

  async claim(max: number): Promise<ClaimedBatch | undefined> {
    this.notified = false;
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toStoreError(err, this.name, "connecting failed");
    }
    // The claim is held across the transport's publish: the server may die meanwhile.
    const letGo = holdClient(client);
    let done = false;
    const finish = (sql: string | undefined, broken?: Error): Promise<void> => {
      if (done) return Promise.resolve();
      done = true;
      const end = sql === undefined || broken ? Promise.resolve() : client.query(sql).then(() => undefined);
      return end.then(
        () => {
          letGo();
          client.release(broken);
        },
        (err: Error) => {
          letGo();
          client.release(err);
          throw toStoreError(err, this.name, "ending the claim failed");
        },
      );
    };
    try {
      // READ COMMITTED whatever the database's default: each statement sees the latest commits (see the class comment).
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      const heads = (await client.query<{ seq: string; lane: string }>(this.sql.heads, [Math.max(this.window, max), max])).rows;
      const locked = heads.length === 0 ? [] : (await client.query<{ seq: string; lane: string }>(this.sql.lock, [heads.map((h) => h.seq)])).rows;
      if (locked.length === 0) {
        await finish("ROLLBACK");
        return undefined;
      }
      const headOf = new Map(locked.map((h) => [h.lane, Number(h.seq)]));
      const rows = (await client.query<Row>(this.sql.rows, [[...headOf.keys()], max])).rows
        .filter((r) => Number(r.seq) >= headOf.get(r.lane)!)
        .map(toRelayRow);
      return {
        rows,
        settle: async (sent, failed) => {
          try {
            if (sent.length > 0) await client.query(this.sql.sent, [Date.now(), sent.map((r) => r.seq)]);
            for (const f of failed) await client.query(this.sql.failed, [f.row.seq, f.error.message.slice(0, 2000)]);
          } catch (err) {
            await finish(undefined, err as Error);
            throw toStoreError(err, this.name, "marking rows sent failed");
          }
          await finish("COMMIT");
        },
        // A failed ROLLBACK released the client as broken: the server rolls the claim back as it closes.
        abandon: () => finish("ROLLBACK").catch(() => undefined),
      };
    } catch (err) {
      await finish(undefined, err as Error);
      throw toStoreError(err, this.name, "claiming rows failed");
    }
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.closed) return;
    await this.listen();
    if (this.notified) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.waiter = done;
    });
  }

  /** LISTEN on a connection of its own; on failure the relay just polls, and tries again next wait. */
  private listen(): Promise<void> {
    if (this.listener || this.closed) return Promise.resolve();
    this.listening ??= (async () => {
      let release: ((err?: Error | boolean) => void) | undefined;
      try {
        const c = await this.pool.connect();
        // A dead connection's error event, a failed LISTEN and close() can each
        // want to give this client back; pg throws on a second release.
        let released = false;
        release = (err) => {
          if (released) return;
          released = true;
          if (this.listener === c) this.listener = undefined;
          c.release(err);
        };
        const releaseBroken = release;
        this.releaseListener = releaseBroken;
        c.on("notification", () => {
          this.notified = true;
          this.waiter?.();
        });
        c.on("error", () => releaseBroken(new Error("listener connection failed")));
        await c.query(`LISTEN "${this.table}"`);
        if (this.closed) release(true);
        else if (!released) this.listener = c;
      } catch {
        // No LISTEN: the relay polls, which is the designed fallback (docs/contract.md §8); the next wait tries LISTEN again.
        release?.(true);
      } finally {
        this.listening = undefined;
      }
    })();
    return this.listening;
  }

  async lag(): Promise<OutboxLag> {
    try {
      const r = (await this.pool.query<{ n: string; oldest: string | null }>(this.sql.lag)).rows[0]!;
      return { unsent: Number(r.n), oldestAgeMs: r.oldest === null ? undefined : Math.max(0, Date.now() - Number(r.oldest)) };
    } catch (err) {
      throw toStoreError(err, this.name, "reading the lag failed");
    }
  }

  async deleteSent(before: number, limit: number): Promise<number> {
    try {
      return (await this.pool.query(this.sql.cleanup, [before, limit])).rowCount ?? 0;
    } catch (err) {
      throw toStoreError(err, this.name, "cleanup failed");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listening;
    const l = this.listener;
    const release = this.releaseListener;
    this.listener = undefined;
    if (l && release) {
      // The client is destroyed just below either way, and its LISTEN with it: a failed UNLISTEN changes nothing.
      await l.query(`UNLISTEN "${this.table}"`).catch(() => undefined);
      release(true);
    }
  }
}

/**
 * Claiming SQLite outbox rows for a relay. SQLite has one writer at a time,
 * so a row's sequence value (its rowid) is handed out inside a write
 * transaction no other writer can overlap: when a relay sees row n, every
 * row below n is committed or rolled back. No row can commit late behind a
 * later one, and sequence order is commit order. Several relays on one file
 * take turns through a lease row (`<table>_relay`): the holder publishes in
 * sequence order, the others stand by until it expires. A holder paused past
 * its lease can only re-publish rows (same ids), never reorder them.
 */
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { sleep } from "../../runtime/backoff.js";
import type { OutboxLag } from "../outbox.js";
import { parseHeaders, type ClaimedBatch, type RelayRow, type RelaySource } from "../relay-source.js";
import { toStoreError } from "../sql/errors.js";

interface Row {
  seq: number;
  message_id: string;
  topic: string;
  msg_key: string | null;
  lane: string;
  headers: string;
  body: Buffer;
  created_at: number;
}

interface Holder {
  owner: string;
  expires_at: number;
}

export class SqliteRelaySource implements RelaySource {
  readonly name = "sqlite outbox";
  private readonly owner = randomUUID();
  private readonly s;
  private readonly claimTx: Database.Transaction<(max: number) => Row[] | undefined>;

  constructor(
    private readonly db: Database.Database,
    readonly table: string,
    private readonly leaseMs: number,
  ) {
    const t = `"${table}"`;
    const lease = `"${table}_relay"`;
    this.s = {
      holder: db.prepare(`SELECT owner, expires_at FROM ${lease} WHERE id = 1`),
      take: db.prepare(`INSERT INTO ${lease} (id, owner, expires_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`),
      release: db.prepare(`DELETE FROM ${lease} WHERE id = 1 AND owner = ?`),
      rows: db.prepare(`SELECT seq, message_id, topic, msg_key, lane, headers, body, created_at FROM ${t} WHERE sent_at IS NULL ORDER BY seq LIMIT ?`),
      sent: db.prepare(`UPDATE ${t} SET sent_at = ? WHERE seq IN (SELECT value FROM json_each(?))`),
      failed: db.prepare(`UPDATE ${t} SET attempts = attempts + 1, last_error = ? WHERE seq = ?`),
      lag: db.prepare(`SELECT count(*) AS n, min(created_at) AS oldest FROM ${t} WHERE sent_at IS NULL`),
      cleanup: db.prepare(`DELETE FROM ${t} WHERE seq IN (SELECT seq FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < ? ORDER BY sent_at LIMIT ?)`),
    };
    // Taking or renewing the lease writes: only then is the write lock taken (see claim()).
    this.claimTx = db.transaction((max: number) => {
      const now = Date.now();
      const holder = this.s.holder.get() as Holder | undefined;
      if (holder && holder.owner !== this.owner && holder.expires_at > now) return undefined;
      this.s.take.run(this.owner, now + this.leaseMs);
      return this.s.rows.all(max) as Row[];
    });
  }

  async claim(max: number): Promise<ClaimedBatch | undefined> {
    let rows: Row[] | undefined;
    try {
      // Reads first, without the write lock: an idle relay polling every 50 ms never makes the application's writers wait.
      const now = Date.now();
      const holder = this.s.holder.get() as Holder | undefined;
      if (holder && holder.owner !== this.owner && holder.expires_at > now) return undefined;
      rows = this.s.rows.all(max) as Row[];
      if (rows.length === 0) return undefined;
      // Our lease with more than half left: the rows just read are ours to publish. Else take or renew it, and read again under it.
      if (!holder || holder.owner !== this.owner || holder.expires_at - now < this.leaseMs / 2) rows = this.claimTx.immediate(max);
    } catch (err) {
      throw toStoreError(err, this.name, "claiming rows failed");
    }
    if (!rows || rows.length === 0) return undefined;
    const settleTx = this.db.transaction((sent: readonly RelayRow[], failed: ReadonlyArray<{ row: RelayRow; error: Error }>) => {
      if (sent.length > 0) this.s.sent.run(Date.now(), JSON.stringify(sent.map((r) => r.seq)));
      for (const f of failed) this.s.failed.run(f.error.message.slice(0, 2000), f.row.seq);
    });
    return {
      rows: rows.map(toRelayRow),
      settle: async (sent, failed) => {
        try {
          settleTx.immediate(sent, failed);
        } catch (err) {
          throw toStoreError(err, this.name, "marking rows sent failed");
        }
      },
      abandon: async () => undefined,
    };
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return sleep(ms, signal);
  }

  async lag(): Promise<OutboxLag> {
    try {
      const r = this.s.lag.get() as { n: number; oldest: number | null };
      return { unsent: r.n, oldestAgeMs: r.oldest === null ? undefined : Math.max(0, Date.now() - r.oldest) };
    } catch (err) {
      throw toStoreError(err, this.name, "reading the lag failed");
    }
  }

  async deleteSent(before: number, limit: number): Promise<number> {
    try {
      return this.s.cleanup.run(before, limit).changes;
    } catch (err) {
      throw toStoreError(err, this.name, "cleanup failed");
    }
  }

  async close(): Promise<void> {
    try {
      if (this.db.open) this.s.release.run(this.owner);
    } catch {
      // The lease runs out on its own.
    }
  }
}

function toRelayRow(r: Row): RelayRow {
  return {
    seq: r.seq,
    id: r.message_id,
    topic: r.topic,
    key: r.msg_key ?? undefined,
    lane: r.lane,
    wire: { headers: parseHeaders(r.headers), body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength) },
    createdAt: r.created_at,
  };
}

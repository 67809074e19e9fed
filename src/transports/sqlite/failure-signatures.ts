/**
 * The failure-group index of a SQLite dead-letter store: each entry's
 * failure signature (src/transport/failure-signature.ts) in
 * `dead_letter_signatures`, and per signature and consumer group the count,
 * first and last time and newest entry in `dead_letter_groups`, kept by
 * triggers as signature rows come and go (an entry deleted by a replay, a
 * discard or a plain client takes its signature row with it). Grouping a
 * million entries then reads a few summary rows, plus an index range count
 * per group for the recent ones.
 *
 * Signatures are computed here, in JavaScript (the normalisation is not
 * SQL): in the transaction that dead-letters a message (queue-store.ts), and
 * by the reader that asks for groups for any entry not indexed yet (a plain
 * client's, or one written before the index existed), from the last entry
 * it scanned on (kept in the meta table), a batch per write transaction.
 * Entry ids only grow (AUTOINCREMENT, one writer at a time), so nothing is
 * skipped. The first look at a large store that predates the index pays for
 * indexing its backlog once.
 */
import type Database from "better-sqlite3";
import { signatureFromHeaders, signatureKey } from "../../transport/failure-signature.js";
import type { FailureGroupIndex, IndexedFailureGroup } from "../../transport/failure-group-index.js";
import { decodeHeaders } from "./headers-json.js";
import { tableNames } from "./schema.js";
import type { WriteBatcher } from "./write-batcher.js";

type Stmt = Database.Statement<unknown[], unknown>;

/** Entries indexed per write transaction: short enough not to hold the write lock for long. */
const BATCH = 2_000;
/** The meta row holding the last entry id a catch-up scanned. */
const WATERMARK = "dead_letter_signatures_through";

interface PendingRow {
  readonly entry_id: number;
  readonly topic: string;
  readonly group_name: string;
  readonly headers: unknown;
  readonly dead_lettered_at: number;
}

interface GroupRow {
  readonly signature: string;
  readonly group_name: string;
  readonly n: number;
  readonly first_at: number;
  readonly last_at: number;
  readonly newest_entry: number;
}

export class FailureSignatures implements FailureGroupIndex {
  private readonly s: { watermark: Stmt; setWatermark: Stmt; top: Stmt; pending: Stmt; entry: Stmt; add: Stmt; all: Stmt; ofGroup: Stmt; recent: Stmt; entries: Stmt; entriesOfGroup: Stmt };
  private indexing: Promise<void> | undefined;

  constructor(
    db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
  ) {
    const t = tableNames(prefix);
    const columns = "signature, group_name, n, first_at, last_at, newest_entry";
    this.s = {
      watermark: db.prepare(`SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM ${t.meta} WHERE name = '${WATERMARK}'), 0)`).pluck(),
      setWatermark: db.prepare(`INSERT INTO ${t.meta} (name, value) VALUES ('${WATERMARK}', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`),
      top: db.prepare(`SELECT COALESCE(MAX(entry_id), 0) FROM ${t.deadLetters}`).pluck(),
      pending: db.prepare(
        `SELECT entry_id, topic, group_name, headers, dead_lettered_at FROM ${t.deadLetters} d
          WHERE entry_id > ? AND NOT EXISTS (SELECT 1 FROM ${t.signatures} s WHERE s.entry_id = d.entry_id) ORDER BY entry_id LIMIT ${BATCH}`,
      ),
      entry: db.prepare(`SELECT entry_id, topic, group_name, headers, dead_lettered_at FROM ${t.deadLetters} WHERE entry_id = ?`),
      add: db.prepare(`INSERT OR IGNORE INTO ${t.signatures} (entry_id, signature, group_name, dead_lettered_at) VALUES (?, ?, ?, ?)`),
      all: db.prepare(`SELECT ${columns} FROM ${t.signatureGroups}`),
      ofGroup: db.prepare(`SELECT ${columns} FROM ${t.signatureGroups} WHERE group_name = ?`),
      entries: db.prepare(`SELECT entry_id FROM ${t.signatures} WHERE signature = ? AND entry_id > ? ORDER BY entry_id LIMIT ?`).pluck(),
      entriesOfGroup: db.prepare(`SELECT entry_id FROM ${t.signatures} WHERE signature = ? AND entry_id > ? AND group_name = ? ORDER BY entry_id LIMIT ?`).pluck(),
      recent: db.prepare(`SELECT COUNT(*) FROM ${t.signatures} WHERE signature = ? AND group_name = ? AND dead_lettered_at >= ?`).pluck(),
    };
  }

  async failureGroups(query: { readonly group?: string }, now: number): Promise<IndexedFailureGroup[]> {
    await this.catchUp();
    const rows = (query.group === undefined ? this.s.all.all() : this.s.ofGroup.all(query.group)) as GroupRow[];
    return rows.map((r) => ({
      signature: r.signature,
      group: r.group_name,
      count: r.n,
      firstDeadLetteredAt: r.first_at,
      lastDeadLetteredAt: r.last_at,
      // Ranges of the (signature, group, time) index: only the recent entries are counted.
      recent5m: r.last_at >= now - 5 * 60_000 ? (this.s.recent.get(r.signature, r.group_name, now - 5 * 60_000) as number) : 0,
      recent1h: r.last_at >= now - 60 * 60_000 ? (this.s.recent.get(r.signature, r.group_name, now - 60 * 60_000) as number) : 0,
      newestEntryId: String(r.newest_entry),
    }));
  }

  async entriesOf(signature: string, query: { readonly group?: string; readonly after?: string; readonly limit: number }): Promise<string[]> {
    await this.catchUp();
    const after = query.after === undefined ? 0 : Number(query.after);
    if (!Number.isSafeInteger(after)) return [];
    const ids = (query.group === undefined ? this.s.entries.all(signature, after, query.limit) : this.s.entriesOfGroup.all(signature, after, query.group, query.limit)) as number[];
    return ids.map(String);
  }

  /** Index every entry newer than the newest indexed one (one catch-up at a time; a second caller waits for it). */
  private catchUp(): Promise<void> {
    this.indexing ??= (async () => {
      try {
        while ((await this.writer.submit(() => this.indexBatch(), BATCH)) === BATCH) {
          // a full batch: there may be more
        }
      } finally {
        this.indexing = undefined;
      }
    })();
    return this.indexing;
  }

  /** Index one entry just dead-lettered; call inside the write transaction that inserted it. */
  indexEntry(entryId: number): void {
    const row = this.s.entry.get(entryId) as PendingRow | undefined;
    if (row !== undefined) this.add(row);
  }

  private indexBatch(): number {
    const top = this.s.top.get() as number;
    const rows = this.s.pending.all(this.s.watermark.get()) as PendingRow[];
    for (const r of rows) this.add(r);
    // A full batch may have more behind it; otherwise every entry up to the newest one is indexed.
    this.s.setWatermark.run(rows.length === BATCH ? rows[rows.length - 1]!.entry_id : top);
    return rows.length;
  }

  private add(r: PendingRow): void {
    const key = signatureKey(signatureFromHeaders(r.topic, decodeHeaders(r.headers)));
    this.s.add.run(r.entry_id, key, r.group_name, r.dead_lettered_at);
  }
}

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
 * SQL), by the reader that asks for groups: it first indexes the entries
 * newer than the newest indexed one, a batch per write transaction. Entry
 * ids only grow (AUTOINCREMENT, one writer at a time), so nothing is
 * skipped. The first look at a large store that predates the index pays
 * for indexing its backlog once.
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
  private readonly s: { watermark: Stmt; pending: Stmt; add: Stmt; all: Stmt; ofGroup: Stmt; recent: Stmt };
  private indexing: Promise<void> | undefined;

  constructor(
    db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
  ) {
    const t = tableNames(prefix);
    const columns = "signature, group_name, n, first_at, last_at, newest_entry";
    this.s = {
      watermark: db.prepare(`SELECT COALESCE(MAX(entry_id), 0) FROM ${t.signatures}`).pluck(),
      pending: db.prepare(`SELECT entry_id, topic, group_name, headers, dead_lettered_at FROM ${t.deadLetters} WHERE entry_id > ? ORDER BY entry_id LIMIT ${BATCH}`),
      add: db.prepare(`INSERT OR IGNORE INTO ${t.signatures} (entry_id, signature, group_name, dead_lettered_at) VALUES (?, ?, ?, ?)`),
      all: db.prepare(`SELECT ${columns} FROM ${t.signatureGroups}`),
      ofGroup: db.prepare(`SELECT ${columns} FROM ${t.signatureGroups} WHERE group_name = ?`),
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

  private indexBatch(): number {
    const rows = this.s.pending.all(this.s.watermark.get()) as PendingRow[];
    for (const r of rows) {
      const key = signatureKey(signatureFromHeaders(r.topic, decodeHeaders(r.headers)));
      this.s.add.run(r.entry_id, key, r.group_name, r.dead_lettered_at);
    }
    return rows.length;
  }
}

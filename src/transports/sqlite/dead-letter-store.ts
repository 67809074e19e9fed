/**
 * The native dead-letter store: a table next to the queue. Dead-lettering
 * moves a row here in one transaction (queue-store.ts); replay moves it
 * back, same message id, diagnostics stripped, in one transaction, so a
 * crash leaves it in exactly one of the two places.
 */
import type Database from "better-sqlite3";
import type { DeadLetter, DeadLetterFilter, DeadLetterStore } from "../../transport/transport.js";
import { ConfigurationError } from "../../errors.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import { decodeHeaders, encodeHeaders } from "./headers-json.js";
import { tableNames } from "./schema.js";
import { toTransportError } from "./sqlite-errors.js";
import type { WriteBatcher } from "./write-batcher.js";

/** `list` returns at most this many entries unless the filter asks for another limit. */
export const DEFAULT_LIST_LIMIT = 1000;

interface DeadLetterRow {
  readonly entry_id: number;
  readonly group_name: string;
  readonly topic: string;
  readonly key: string | null;
  readonly headers: unknown;
  readonly body: unknown;
  readonly dead_lettered_at: number;
}

type Stmt = Database.Statement<unknown[], unknown>;

export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly table: string;
  private readonly queue: string;
  private readonly filtered = new Map<string, Stmt>();
  private readonly s: { get: Stmt; requeue: Stmt; remove: Stmt };

  constructor(
    private readonly db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
  ) {
    const t = tableNames(prefix);
    this.table = t.deadLetters;
    this.queue = t.queue;
    this.s = {
      get: db.prepare(`SELECT group_name, headers FROM ${this.table} WHERE entry_id = ?`),
      requeue: db.prepare(
        `INSERT INTO ${this.queue} (group_name, topic, message_id, key, headers, body, visible_at, attempts, enqueued_at)
         SELECT group_name, topic, message_id, key, ?, body, ?, 0, ? FROM ${this.table} WHERE entry_id = ?`,
      ),
      remove: db.prepare(`DELETE FROM ${this.table} WHERE entry_id = ?`),
    };
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    const rows = this.select("entry_id, group_name, topic, key, headers, body, dead_lettered_at", filter, true) as DeadLetterRow[];
    return rows.map((r) => ({
      entryId: String(r.entry_id),
      group: r.group_name,
      topic: r.topic,
      key: r.key ?? undefined,
      wire: { headers: decodeHeaders(r.headers), body: Buffer.isBuffer(r.body) ? r.body : Buffer.from(String(r.body ?? "")) },
      deadLetteredAt: r.dead_lettered_at,
    }));
  }

  async count(filter?: DeadLetterFilter): Promise<number> {
    const rows = this.select("COUNT(*) AS n", filter, false) as { n: number }[];
    const n = rows[0]?.n ?? 0;
    return filter?.limit === undefined ? n : Math.min(n, this.limitOf(filter));
  }

  replay(entryIds: readonly string[]): Promise<number> {
    const ids = parseIds(entryIds);
    if (ids.length === 0) return Promise.resolve(0);
    return this.writer.submit((ctx) => {
      let moved = 0;
      for (const id of ids) {
        const row = this.s.get.get(id) as { group_name: string; headers: unknown } | undefined;
        if (!row) continue;
        const headers = encodeHeaders(withoutDiagnostics(decodeHeaders(row.headers)));
        this.s.requeue.run(headers, ctx.now, ctx.now, id);
        this.s.remove.run(id);
        ctx.touch(row.group_name);
        moved++;
      }
      return moved;
    }, ids.length);
  }

  discard(entryIds: readonly string[]): Promise<number> {
    const ids = parseIds(entryIds);
    if (ids.length === 0) return Promise.resolve(0);
    return this.writer.submit(() => ids.reduce((n, id) => n + this.s.remove.run(id).changes, 0), ids.length);
  }

  // One cached statement per combination of filters, so each can use its index.
  private select(columns: string, filter: DeadLetterFilter | undefined, limited: boolean): unknown[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter?.group !== undefined) {
      where.push("group_name = ?");
      params.push(filter.group);
    }
    if (filter?.topic !== undefined) {
      where.push("topic = ?");
      params.push(filter.topic);
    }
    let sql = `SELECT ${columns} FROM ${this.table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`;
    if (limited) {
      sql += " ORDER BY entry_id LIMIT ?";
      params.push(this.limitOf(filter));
    }
    try {
      let stmt = this.filtered.get(sql);
      if (!stmt) this.filtered.set(sql, (stmt = this.db.prepare(sql)));
      return stmt.all(...params);
    } catch (err) {
      throw toTransportError(err, "reading dead letters failed");
    }
  }

  private limitOf(filter: DeadLetterFilter | undefined): number {
    const limit = filter?.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new ConfigurationError(`dead-letter filter limit must be a non-negative integer, got ${String(limit)}`);
    return limit;
  }
}

// Entry ids are the table's integer keys, as strings; anything else names no entry.
function parseIds(entryIds: readonly string[]): number[] {
  const out: number[] = [];
  for (const id of new Set(entryIds)) {
    if (/^[1-9][0-9]{0,15}$/.test(id)) out.push(Number(id));
  }
  return out;
}

/**
 * The native dead-letter store: a table next to the queue. Dead-lettering
 * moves a row here in one transaction (queue-store.ts); replay moves it
 * back, same message id, in one transaction, so a crash leaves it in
 * exactly one of the two places. Filters and the summary run in SQL; the
 * error diagnostics are read out of the headers JSON.
 */
import type Database from "better-sqlite3";
import type { WireMessage } from "../../envelope/wire.js";
import { checkQuery, limitOf, sortSummary } from "../../transport/dead-letter-query.js";
import { DiagnosticHeaders, withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary } from "../../transport/transport.js";
import type { FailureGroupIndex, IndexedFailureGroup } from "../../transport/failure-group-index.js";
import { FailureSignatures } from "./failure-signatures.js";
import { decodeHeaders, encodeHeaders } from "./headers-json.js";
import { tableNames } from "./schema.js";
import { toTransportError } from "./sqlite-errors.js";
import type { WriteBatcher } from "./write-batcher.js";

interface DeadLetterRow {
  readonly entry_id: number;
  readonly group_name: string;
  readonly topic: string;
  readonly message_id: string;
  readonly key: string | null;
  readonly headers: unknown;
  readonly body: unknown;
  readonly dead_lettered_at: number;
}

interface SummaryRow {
  readonly topic: string;
  readonly code: unknown;
  readonly class: unknown;
  readonly n: number;
  readonly first: number;
  readonly last: number;
}

type Stmt = Database.Statement<unknown[], unknown>;

const COLUMNS = "entry_id, group_name, topic, message_id, key, headers, body, dead_lettered_at";
// A plain client may have written headers that are not JSON: json_extract would fail on them.
const diagnostic = (name: string): string => `json_extract(CASE WHEN json_valid(headers) THEN headers END, '$."${name}"')`;
const ERROR_CODE = diagnostic(DiagnosticHeaders.errorCode);
const ERROR_CLASS = diagnostic(DiagnosticHeaders.errorClass);

export class SqliteDeadLetterStore implements DeadLetterStore, FailureGroupIndex {
  private readonly table: string;
  private readonly signatures: FailureSignatures;
  private readonly statements = new Map<string, Stmt>();
  private readonly s: { get: Stmt; groupOf: Stmt; requeue: Stmt; requeueEdited: Stmt; remove: Stmt };

  constructor(
    private readonly db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
    signatures?: FailureSignatures,
  ) {
    const t = tableNames(prefix);
    this.table = t.deadLetters;
    this.signatures = signatures ?? new FailureSignatures(db, prefix, writer);
    // A group that is gone (a closed temporary group) has no consumers left: its entries stay put.
    const live = `entry_id = ? AND EXISTS (SELECT 1 FROM ${t.groups} g WHERE g.group_name = ${t.deadLetters}.group_name)`;
    const insert = `INSERT INTO ${t.queue} (group_name, topic, message_id, key, headers, body, visible_at, attempts, enqueued_at)`;
    this.s = {
      get: db.prepare(`SELECT ${COLUMNS} FROM ${this.table} WHERE entry_id = ?`),
      // What a replay needs to know of an entry (not its body): whom to wake, and the headers to strip.
      groupOf: db.prepare(`SELECT group_name, headers FROM ${this.table} WHERE entry_id = ?`),
      requeue: db.prepare(`${insert} SELECT group_name, topic, message_id, key, ?, body, ?, 0, ? FROM ${this.table} WHERE ${live}`),
      requeueEdited: db.prepare(`${insert} SELECT group_name, topic, message_id, key, ?, ?, ?, 0, ? FROM ${this.table} WHERE ${live}`),
      remove: db.prepare(`DELETE FROM ${this.table} WHERE entry_id = ?`),
    };
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    checkQuery(filter);
    const limit = limitOf(filter);
    const { where, params } = whereOf(filter);
    if (filter?.after !== undefined) {
      const after = entryNumber(filter.after);
      if (after === undefined) return [];
      where.push("entry_id > ?");
      params.push(after);
    }
    const rows = this.all(`SELECT ${COLUMNS} FROM ${this.table}${clause(where)} ORDER BY entry_id LIMIT ?`, [...params, limit]) as DeadLetterRow[];
    return rows.map(toDeadLetter);
  }

  async get(entryId: string): Promise<DeadLetter | undefined> {
    const id = entryNumber(entryId);
    if (id === undefined) return undefined;
    const row = this.read(() => this.s.get.get(id)) as DeadLetterRow | undefined;
    return row === undefined ? undefined : toDeadLetter(row);
  }

  async count(query?: DeadLetterQuery): Promise<number> {
    checkQuery(query);
    const { where, params } = whereOf(query);
    const rows = this.all(`SELECT COUNT(*) AS n FROM ${this.table}${clause(where)}`, params) as { n: number }[];
    return rows[0]?.n ?? 0;
  }

  async summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    checkQuery(query);
    const { where, params } = whereOf(query);
    const sql = `SELECT topic, ${ERROR_CODE} AS code, ${ERROR_CLASS} AS class, COUNT(*) AS n, MIN(dead_lettered_at) AS first, MAX(dead_lettered_at) AS last
                 FROM ${this.table}${clause(where)} GROUP BY 1, 2, 3`;
    const rows = this.all(sql, params) as SummaryRow[];
    return sortSummary(rows.map((r) => ({
      topic: r.topic, errorCode: textOrUndefined(r.code), errorClass: textOrUndefined(r.class), count: r.n, firstDeadLetteredAt: r.first, lastDeadLetteredAt: r.last,
    })));
  }

  /** From the failure-group index (failure-signatures.ts); by consumer group or of every entry. */
  failureGroups(query: { readonly group?: string }, now: number): Promise<IndexedFailureGroup[]> {
    return this.signatures.failureGroups(query, now).catch((err: unknown) => {
      throw toTransportError(err, "reading the failure groups failed");
    });
  }

  entriesOf(signature: string, query: { readonly group?: string; readonly after?: string; readonly limit: number }): Promise<string[]> {
    return this.signatures.entriesOf(signature, query).catch((err: unknown) => {
      throw toTransportError(err, "reading a failure group's entries failed");
    });
  }

  replay(entryIds: readonly string[]): Promise<number> {
    const ids = parseIds(entryIds);
    if (ids.length === 0) return Promise.resolve(0);
    return this.writer.submit((ctx) => {
      let moved = 0;
      for (const id of ids) {
        const row = this.s.groupOf.get(id) as Pick<DeadLetterRow, "group_name" | "headers"> | undefined;
        if (!row) continue;
        const headers = encodeHeaders(withoutDiagnostics(decodeHeaders(row.headers)));
        if (this.s.requeue.run(headers, ctx.now, ctx.now, id).changes === 0) continue;
        this.s.remove.run(id);
        ctx.touch(row.group_name);
        moved++;
      }
      return moved;
    }, ids.length);
  }

  replayEdited(entryId: string, wire: WireMessage): Promise<boolean> {
    const id = entryNumber(entryId);
    if (id === undefined) return Promise.resolve(false);
    const headers = encodeHeaders(wire.headers);
    const body = Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength);
    return this.writer.submit((ctx) => {
      const row = this.s.groupOf.get(id) as Pick<DeadLetterRow, "group_name"> | undefined;
      if (!row || this.s.requeueEdited.run(headers, body, ctx.now, ctx.now, id).changes === 0) return false;
      this.s.remove.run(id);
      ctx.touch(row.group_name);
      return true;
    });
  }

  discard(entryIds: readonly string[]): Promise<number> {
    const ids = parseIds(entryIds);
    if (ids.length === 0) return Promise.resolve(0);
    return this.writer.submit(() => ids.reduce((n, id) => n + this.s.remove.run(id).changes, 0), ids.length);
  }

  // One cached statement per combination of filters, so each can use its index.
  private all(sql: string, params: unknown[]): unknown[] {
    return this.read(() => {
      let stmt = this.statements.get(sql);
      if (!stmt) this.statements.set(sql, (stmt = this.db.prepare(sql)));
      return stmt.all(...params);
    });
  }

  private read<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      throw toTransportError(err, "reading dead letters failed");
    }
  }
}

function whereOf(query: DeadLetterQuery | undefined): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    where.push(sql);
    params.push(value);
  };
  if (query?.group !== undefined) add("group_name = ?", query.group);
  if (query?.topic !== undefined) add("topic = ?", query.topic);
  if (query?.messageId !== undefined) add("message_id = ?", query.messageId);
  if (query?.since !== undefined) add("dead_lettered_at >= ?", query.since);
  if (query?.until !== undefined) add("dead_lettered_at <= ?", query.until);
  if (query?.errorCode !== undefined) add(`${ERROR_CODE} = ?`, query.errorCode);
  if (query?.errorClass !== undefined) add(`${ERROR_CLASS} = ?`, query.errorClass);
  return { where, params };
}

function clause(where: readonly string[]): string {
  return where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
}

function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    entryId: String(r.entry_id),
    messageId: String(r.message_id),
    group: r.group_name,
    topic: r.topic,
    key: r.key ?? undefined,
    // A plain client may have stored text in the body column: keep its bytes rather than lose them.
    wire: { headers: decodeHeaders(r.headers), body: Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body === null || r.body === undefined ? "" : String(r.body)) },
    deadLetteredAt: r.dead_lettered_at,
  };
}

function textOrUndefined(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

// Entry ids are the table's integer keys, as strings; anything else names no entry.
function entryNumber(entryId: string): number | undefined {
  return typeof entryId === "string" && /^[1-9][0-9]{0,15}$/.test(entryId) ? Number(entryId) : undefined;
}

function parseIds(entryIds: readonly string[]): number[] {
  const out: number[] = [];
  for (const id of new Set(entryIds)) {
    const n = entryNumber(id);
    if (n !== undefined) out.push(n);
  }
  return out;
}

/**
 * The native dead-letter store: a table next to the queue. Dead-lettering
 * moves a row here in one statement (queue-store.ts); replay moves it back,
 * same message id, in one transaction, so a crash leaves it in exactly one
 * of the two places. The error diagnostics are kept in columns, written
 * when the row is dead-lettered, so filters and the summary use indexes.
 */
import type { Pool } from "pg";
import type { WireMessage } from "../../envelope/wire.js";
import { checkQuery, limitOf, sortSummary } from "../../transport/dead-letter-query.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary } from "../../transport/transport.js";
import { decodeHeaders, encodeHeaders } from "../sqlite/headers-json.js";
import type { PgTableNames } from "./schema.js";
import { NOW_MS } from "./schema.js";
import { inTransaction, query } from "./tx.js";

interface DeadLetterRow {
  readonly entry_id: string;
  readonly group_name: string;
  readonly topic: string;
  readonly message_id: string;
  readonly key: string | null;
  readonly headers: string;
  readonly body: Buffer;
  readonly dead_lettered_at: string;
}

const COLUMNS = "entry_id, group_name, topic, message_id, key, headers, body, dead_lettered_at";

export class PgDeadLetterStore implements DeadLetterStore {
  constructor(
    private readonly pool: Pool,
    private readonly t: PgTableNames,
    /** Wakes the groups a replay put rows back into. */
    private readonly wake: (groups: Iterable<string>) => Promise<void>,
  ) {}

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    checkQuery(filter);
    const limit = limitOf(filter);
    const { where, params } = whereOf(filter);
    if (filter?.after !== undefined) {
      const after = entryNumber(filter.after);
      if (after === undefined) return [];
      params.push(after);
      where.push(`entry_id > $${params.length}`);
    }
    params.push(limit);
    const { rows } = await query<DeadLetterRow>(this.pool, "listing dead letters", `SELECT ${COLUMNS} FROM ${this.t.deadLetters}${clause(where)} ORDER BY entry_id LIMIT $${params.length}`, params);
    return rows.map(toDeadLetter);
  }

  async get(entryId: string): Promise<DeadLetter | undefined> {
    const id = entryNumber(entryId);
    if (id === undefined) return undefined;
    const { rows } = await query<DeadLetterRow>(this.pool, "reading a dead letter", `SELECT ${COLUMNS} FROM ${this.t.deadLetters} WHERE entry_id = $1`, [id]);
    return rows[0] === undefined ? undefined : toDeadLetter(rows[0]);
  }

  async count(q?: DeadLetterQuery): Promise<number> {
    checkQuery(q);
    const { where, params } = whereOf(q);
    const { rows } = await query<{ n: string }>(this.pool, "counting dead letters", `SELECT count(*) AS n FROM ${this.t.deadLetters}${clause(where)}`, params);
    return Number(rows[0]?.n ?? 0);
  }

  async summary(q?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    checkQuery(q);
    const { where, params } = whereOf(q);
    const { rows } = await query<{ topic: string; code: string | null; class: string | null; n: string; first: string; last: string }>(
      this.pool,
      "summarising dead letters",
      `SELECT topic, error_code AS code, error_class AS class, count(*) AS n, min(dead_lettered_at) AS first, max(dead_lettered_at) AS last
         FROM ${this.t.deadLetters}${clause(where)} GROUP BY 1, 2, 3`,
      params,
    );
    return sortSummary(rows.map((r) => ({
      topic: r.topic, errorCode: r.code ?? undefined, errorClass: r.class ?? undefined, count: Number(r.n), firstDeadLetteredAt: Number(r.first), lastDeadLetteredAt: Number(r.last),
    })));
  }

  async replay(entryIds: readonly string[]): Promise<number> {
    const ids = parseIds(entryIds);
    if (ids.length === 0) return 0;
    const groups = new Set<string>();
    const moved = await inTransaction(this.pool, "replaying dead letters", async (client) => {
      groups.clear();
      // Locked so two replays of one entry cannot both put it back.
      const { rows } = await client.query<{ entry_id: string; group_name: string; headers: string }>(
        `SELECT d.entry_id, d.group_name, d.headers FROM ${this.t.deadLetters} d
          WHERE d.entry_id = ANY($1::bigint[]) AND EXISTS (SELECT 1 FROM ${this.t.groups} g WHERE g.group_name = d.group_name)
          ORDER BY d.entry_id FOR UPDATE OF d`,
        [ids],
      );
      for (const row of rows) {
        const headers = encodeHeaders(withoutDiagnostics(decodeHeaders(row.headers)));
        await client.query(
          `INSERT INTO ${this.t.queue} (group_name, topic, message_id, key, headers, body, visible_at, attempts)
           SELECT group_name, topic, message_id, key, $2, body, ${NOW_MS}, 0 FROM ${this.t.deadLetters} WHERE entry_id = $1`,
          [row.entry_id, headers],
        );
        await client.query(`DELETE FROM ${this.t.deadLetters} WHERE entry_id = $1`, [row.entry_id]);
        groups.add(row.group_name);
      }
      return rows.length;
    });
    await this.wake(groups);
    return moved;
  }

  async replayEdited(entryId: string, wire: WireMessage): Promise<boolean> {
    const id = entryNumber(entryId);
    if (id === undefined) return false;
    const body = Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength);
    const group = await inTransaction(this.pool, "replaying a dead letter", async (client) => {
      const moved = await client.query<{ group_name: string }>(
        `WITH gone AS (DELETE FROM ${this.t.deadLetters} d WHERE entry_id = $1 AND EXISTS (SELECT 1 FROM ${this.t.groups} g WHERE g.group_name = d.group_name)
                       RETURNING group_name, topic, message_id, key)
         INSERT INTO ${this.t.queue} (group_name, topic, message_id, key, headers, body, visible_at, attempts)
         SELECT group_name, topic, message_id, key, $2, $3, ${NOW_MS}, 0 FROM gone RETURNING group_name`,
        [id, encodeHeaders(wire.headers), body],
      );
      return moved.rows[0]?.group_name;
    });
    if (group === undefined) return false;
    await this.wake([group]);
    return true;
  }

  async discard(entryIds: readonly string[]): Promise<number> {
    const ids = parseIds(entryIds);
    if (ids.length === 0) return 0;
    const { rowCount } = await query(this.pool, "discarding dead letters", `DELETE FROM ${this.t.deadLetters} WHERE entry_id = ANY($1::bigint[])`, [ids]);
    return rowCount;
  }
}

function whereOf(q: DeadLetterQuery | undefined): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, op: string, value: unknown): void => {
    params.push(value);
    where.push(`${column} ${op} $${params.length}`);
  };
  if (q?.group !== undefined) add("group_name", "=", q.group);
  if (q?.topic !== undefined) add("topic", "=", q.topic);
  if (q?.messageId !== undefined) add("message_id", "=", q.messageId);
  if (q?.since !== undefined) add("dead_lettered_at", ">=", q.since);
  if (q?.until !== undefined) add("dead_lettered_at", "<=", q.until);
  if (q?.errorCode !== undefined) add("error_code", "=", q.errorCode);
  if (q?.errorClass !== undefined) add("error_class", "=", q.errorClass);
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
    wire: { headers: decodeHeaders(r.headers), body: r.body },
    deadLetteredAt: Number(r.dead_lettered_at),
  };
}

// Entry ids are the table's BIGSERIAL keys, as strings; anything else names no entry.
function entryNumber(entryId: string): string | undefined {
  return typeof entryId === "string" && /^[1-9][0-9]{0,17}$/.test(entryId) ? entryId : undefined;
}

function parseIds(entryIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const id of new Set(entryIds)) {
    const n = entryNumber(id);
    if (n !== undefined) out.push(n);
  }
  return out;
}

/**
 * Every statement that touches the queue, groups and bindings. A publish is
 * one transaction (or the caller's own); claims take rows with
 * `FOR UPDATE SKIP LOCKED`, so consumers never wait on each other and a row
 * committed late (a lower seq committing after a higher one) is still
 * claimed, never skipped: nothing reads past a high-water mark. Acks are
 * batched (ack-batcher.ts). Wake-ups go out with `pg_notify` inside the
 * writing transaction, so PostgreSQL delivers them only after its commit.
 */
import { randomUUID } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { ConfigurationError, MessageTooLargeError, UnroutableError } from "../../errors.js";
import { DiagnosticHeaders } from "../../transport/diagnostic-prefix.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { encodeHeaders } from "../sqlite/headers-json.js";
import { keyLockId, NOW_MS, pgTableNames, type PgTableNames } from "./schema.js";
import { integerArray, textArray } from "./array-literal.js";
import { toPgTransportError } from "./errors.js";
import { ACKED, keptLeases, type AckedRow } from "./ack-reply.js";
import { inTransaction, query } from "./tx.js";
import type { StatementRunner } from "./tx-handle.js";

/** A queue row as a claim returns it. */
export interface ClaimedRow {
  readonly seq: string;
  readonly topic: string;
  readonly key: string | null;
  readonly headers: string;
  readonly body: Buffer;
  readonly attempts: number;
  readonly priority: number;
}

export interface Claim {
  readonly token: string;
  readonly rows: ClaimedRow[];
}

/** Identifies one leased row: settles and renewals must name the lease they hold. */
export interface LeaseRef {
  readonly seq: string;
  readonly token: string;
  readonly group: string;
  readonly key: string | undefined;
}

interface PreparedMessage {
  readonly topic: string;
  readonly id: string;
  readonly key: string | null;
  readonly headers: string;
  readonly body: Buffer;
  readonly delayMs: number;
  readonly group: string | undefined;
  readonly priority: number;
}

/** Who hears that a group's queue changed: the transport's own waiters at once, other processes through NOTIFY. */
export type Announce = (groups: Iterable<string>) => void;

export class QueueStore {
  readonly t: PgTableNames;
  private readonly pendingPublishes: Array<{ readonly prepared: ReadonlyArray<PreparedMessage | Error>; resolve(r: PublishResult[]): void; reject(e: unknown): void }> = [];
  private publishing = false;
  /** The prepared publish statement's name: one per prefix and NOTIFY choice, as transports on one pool may differ. */
  private readonly publishStatement: string;
  private readonly sql: Record<"insert" | "insertIn" | "insertUnkeyed" | "insertUnkeyedIn" | "insertOne" | "insertOneIn" | "insertOneToGroup" | "insertOneToGroupIn" | "claimAll" | "claimHeads" | "nextAll" | "nextHeads" | "renew" | "ack" | "ackKeyed" | "ackWaking" | "retry" | "releaseUnhandled" | "release" | "deadLetter" | "notify", string>;

  constructor(
    private readonly pool: Pool,
    prefix: string,
    private readonly maxMessageBytes: number,
    /** NOTIFY on commit (false: consumers in other processes find new rows by polling). */
    private readonly notify: boolean,
    private readonly announce: Announce,
    /**
     * With NOTIFY on: wakes the groups of a publish made in the caller's transaction once that transaction (its
     * id here) committed (commit-wake.ts), instead of a NOTIFY inside it.
     */
    private readonly wakeAfterCommit?: (xid: string, groups: ReadonlySet<string>) => void,
  ) {
    const t = (this.t = pgTableNames(prefix));
    this.publishStatement = `missive_publish_${prefix}${notify ? "n" : "p"}`;
    const q = t.queue;
    const claim = (heads: boolean): string =>
      `WITH picked AS (
         SELECT seq FROM ${q} WHERE group_name = $1 AND visible_at <= ${NOW_MS}${heads ? " AND NOT blocked" : ""}
          ORDER BY priority DESC, visible_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE ${q} SET visible_at = ${NOW_MS} + $3, lease_token = $4, attempts = ${q}.attempts + 1
        WHERE ${q}.seq = ANY(ARRAY(SELECT seq FROM picked))
       RETURNING ${q}.seq, ${q}.topic, ${q}.key, ${q}.headers, ${q}.body, ${q}.attempts, ${q}.priority`;
    const next = (heads: boolean): string =>
      `SELECT min(visible_at) - ${NOW_MS} AS wait FROM ${q} WHERE group_name = $1${heads ? " AND NOT blocked" : ""} AND visible_at > ${NOW_MS}`;
    // The rows of ($1 seqs, $2 tokens) whose lease is still that token. `seq = ANY` makes it a primary-key lookup:
    // a join with unnest(…) was planned as a hash join over a sequential scan of the whole queue, so every ack,
    // renewal and release cost time in proportion to the backlog, not to the batch (seen in bench/postgres-quick.ts).
    // Rows go in message order (then group), so the key triggers hand out seqs in publish order. `tail` ends the
    // statement: what it returns besides which messages were routed and the groups written to.
    // Headers and bodies travel as one binary parameter ($5: each message's headers JSON then its body, $6 and $9 their
    // byte lengths, $10 where each message starts), cut apart by the server: as text[] and bytea[] node-postgres
    // escaped every header's quotes and hex-encoded every body, and the server parsed both back. The offsets come
    // from the client, which walks the messages anyway: the server's running sum over the rows (a window) cost 5–7% of
    // the statement's execution time for 64 unkeyed rows, 2–3% for keyed ones (EXPLAIN ANALYZE medians, interleaved).
    const insert = (tail: string): string =>
      `WITH m AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::int[], $9::int[], $7::bigint[], $8::smallint[], $10::int[])
           WITH ORDINALITY AS u(tp, grp, id, k, hl, bl, d, p, o, ord)),
       routed AS (
         SELECT m.*, x.group_name AS g FROM m JOIN ${t.bindings} x ON m.grp IS NULL AND x.topic = m.tp
         UNION ALL
         SELECT m.*, x.group_name AS g FROM m JOIN ${t.groups} x ON m.grp IS NOT NULL AND x.group_name = m.grp),
       locked AS MATERIALIZED (${lockKeysInOrder(`SELECT ${keyLockId("g", "k")} AS h FROM routed WHERE k IS NOT NULL`)}),
       ins AS (
         INSERT INTO ${q} (group_name, topic, message_id, key, headers, body, visible_at, priority)
         SELECT g, tp, id, k, convert_from(substring($5::bytea FROM o + 1 FOR hl), 'UTF8'), substring($5::bytea FROM o + hl + 1 FOR bl), ${NOW_MS} + d, p
           FROM routed WHERE ${AFTER_LOCKS} ORDER BY ord, g
         RETURNING group_name),
       touched AS (SELECT DISTINCT group_name AS g FROM ins)
       SELECT (SELECT coalesce(array_agg(DISTINCT ord), '{}') FROM routed) AS routed,
              (SELECT coalesce(array_agg(g), '{}') FROM touched) AS groups${tail}`;
    // The batch with no key and no named group (most publishes): routed over the bindings in the INSERT itself, no
    // lock to take, so none of `insert`'s CTEs (routing, locks, the ordinals routed) and no arrays of NULL groups
    // and keys to send. A message is routed exactly when rows of its topic were written, so the statement returns
    // the topics written. Server time for 64 rows: 1.0 ms against `insert`'s 1.3 (EXPLAIN ANALYZE medians,
    // interleaved); a raw INSERT of the same rows takes 0.76.
    const insertUnkeyed = (tail: string): string =>
      `WITH ins AS (
         INSERT INTO ${q} (group_name, topic, message_id, headers, body, visible_at, priority)
         SELECT x.group_name, u.tp, u.id, convert_from(substring($3::bytea FROM u.o + 1 FOR u.hl), 'UTF8'), substring($3::bytea FROM u.o + u.hl + 1 FOR u.bl), ${NOW_MS} + u.d, u.p
           FROM unnest($1::text[], $2::text[], $4::int[], $5::int[], $6::bigint[], $7::smallint[], $8::int[]) WITH ORDINALITY AS u(tp, id, hl, bl, d, p, o, ord)
           JOIN ${t.bindings} x ON x.topic = u.tp
          ORDER BY u.ord, x.group_name
         RETURNING group_name, topic),
       touched AS (SELECT DISTINCT group_name AS g FROM ins)
       SELECT (SELECT coalesce(array_agg(DISTINCT topic), '{}') FROM ins) AS topics,
              (SELECT coalesce(array_agg(g), '{}') FROM touched) AS groups${tail}`;
    // One message routed by its topic, or to the group it names: two statements, not one whose UNION ALL holds both
    // routes and drops one at run time, which took 0.41 ms a round trip against 0.31 for the topic's alone (a keyed
    // message in an open transaction, prepared, medians of 1,500 interleaved; a plain INSERT took 0.15). Rows go
    // in lock-id order (lockKeysInOrder's), as the key trigger takes each (group, key)'s lock.
    const insertOne = (byGroup: boolean, returning: string): string =>
      byGroup
        ? `INSERT INTO ${q} (group_name, topic, message_id, key, headers, body, visible_at, priority)
           SELECT group_name, $1, $3, $4, $5, $6, ${NOW_MS} + $7, $8 FROM ${t.groups} WHERE group_name = $2
           RETURNING group_name${returning}`
        : `INSERT INTO ${q} (group_name, topic, message_id, key, headers, body, visible_at, priority)
           SELECT group_name, $1, $2, $3, $4, $5, ${NOW_MS} + $6, $7 FROM ${t.bindings} WHERE topic = $1
           ORDER BY ${keyLockId("group_name", "$3")}, group_name
           RETURNING group_name${returning}`;
    const leases = `${q}.seq = ANY($1::bigint[]) AND (${q}.seq, ${q}.lease_token) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`;
    // An ack deleting keyed rows takes their keys' locks (the unblock trigger's) first, in lock-id order, as a batch
    // publish does: two statements taking several keys' locks each in row order deadlocked (a publish batch of keys
    // k0…k499 against an ack whose rows wrapped from k999 to k0: 40P01 five times in a row in the churn bench).
    const lockLeasedKeys = `WITH locked AS MATERIALIZED (${lockKeysInOrder(`SELECT ${keyLockId("group_name", "key")} AS h FROM ${q} WHERE seq = ANY($1::bigint[]) AND key IS NOT NULL`)})`;
    this.sql = {
      // On the pool: the NOTIFY commits with the rows (its own transaction).
      insert: insert(notify ? ",\n              (SELECT count(pg_notify($11, g)) FROM touched) AS notified" : ""),
      // In the caller's transaction: its id, for the wake-up after its commit (no NOTIFY lock held through its flush).
      insertIn: insert(notify ? ",\n              pg_current_xact_id()::text AS xid" : ""),
      insertUnkeyed: insertUnkeyed(notify ? ",\n              (SELECT count(pg_notify($9, g)) FROM touched) AS notified" : ""),
      insertUnkeyedIn: insertUnkeyed(notify ? ",\n              pg_current_xact_id()::text AS xid" : ""),
      // One message (a transactional publish, a publisher alone): plain parameters, no arrays to encode and parse
      // (the body goes as binary), no CTE; a row per group it routes to, in group order.
      insertOne: insertOne(false, notify ? ", pg_notify($8, group_name)" : ""),
      insertOneIn: insertOne(false, notify ? ", pg_current_xact_id()::text AS xid" : ""),
      insertOneToGroup: insertOne(true, notify ? ", pg_notify($9, group_name)" : ""),
      insertOneToGroupIn: insertOne(true, notify ? ", pg_current_xact_id()::text AS xid" : ""),
      claimAll: claim(false),
      claimHeads: claim(true),
      nextAll: next(false),
      nextHeads: next(true),
      renew: `UPDATE ${q} SET visible_at = ${NOW_MS} + $3 WHERE ${leases} RETURNING ${q}.seq`,
      // Unkeyed rows fire no key trigger: no locks to take first.
      ack: `WITH gone AS (DELETE FROM ${q} WHERE ${leases} RETURNING ${q}.seq) ${ACKED}`,
      ackKeyed: `${lockLeasedKeys}, gone AS (DELETE FROM ${q} WHERE ${AFTER_LOCKS} AND ${leases} RETURNING ${q}.seq) ${ACKED}`,
      // The ack of a batch holding keyed rows: deleting a key's head makes its next row claimable, so the groups
      // of the deleted keyed rows are woken, in the same statement (its own transaction: one round trip).
      ackWaking: `${lockLeasedKeys}, gone AS (DELETE FROM ${q} WHERE ${AFTER_LOCKS} AND ${leases} RETURNING ${q}.seq, ${q}.group_name, ${q}.key)
                  ${ACKED},
                  (SELECT count(pg_notify($3, g)) FROM (SELECT DISTINCT group_name AS g FROM gone WHERE key IS NOT NULL) k) AS notified`,
      retry: `UPDATE ${q} SET visible_at = ${NOW_MS} + $3, headers = $4, lease_token = NULL WHERE seq = $1 AND lease_token = $2`,
      // The claim that handed it out counted an attempt the handler never made: take it back.
      releaseUnhandled: `UPDATE ${q} SET visible_at = ${NOW_MS}, lease_token = NULL, attempts = greatest(attempts - 1, 0) WHERE seq = $1 AND lease_token = $2`,
      release: `UPDATE ${q} SET visible_at = ${NOW_MS}, lease_token = NULL WHERE ${leases}`,
      deadLetter: `WITH moved AS (DELETE FROM ${q} WHERE seq = $1 AND lease_token = $2 RETURNING group_name, topic, message_id, key, body, attempts)
                   INSERT INTO ${t.deadLetters} (group_name, topic, message_id, key, headers, body, attempts, error_code, error_class)
                   SELECT group_name, topic, message_id, key, $3, body, attempts, $4, $5 FROM moved`,
      notify: `SELECT pg_notify($1, g) FROM unnest($2::text[]) AS g`,
    };
  }

  /**
   * One transaction per batch, and one publish transaction at a time per transport: batches asked for while
   * one commits join the next (group commit), in call order. Running them side by side on the pool would let
   * a later batch take a key's lock (and so its seq) first, putting a key's messages out of publish order.
   */
  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const prepared = batch.map((m) => this.prepareMessage(m));
    if (!prepared.some((m) => !(m instanceof Error))) return Promise.resolve(prepared as Error[]);
    return new Promise<PublishResult[]>((resolve, reject) => {
      this.pendingPublishes.push({ prepared, resolve, reject });
      if (!this.publishing) void this.flushPublishes();
    });
  }

  private async flushPublishes(): Promise<void> {
    this.publishing = true;
    while (this.pendingPublishes.length > 0) {
      const calls = this.pendingPublishes.splice(0, this.pendingPublishes.length);
      try {
        const prepared = calls.flatMap((c) => c.prepared);
        const { results, groups } = prepared.length === 1 && !(prepared[0] instanceof Error) ? await this.insertOne(this.pool, prepared[0]!) : await this.insert(this.pool, prepared);
        this.announce(groups);
        let at = 0;
        for (const c of calls) {
          c.resolve(results.slice(at, at + c.prepared.length));
          at += c.prepared.length;
        }
      } catch (err) {
        // Rolled back: none of these calls' messages were stored; each caller retries with the same ids.
        for (const c of calls) c.reject(err);
      }
    }
    this.publishing = false;
  }

  /**
   * Publish inside the caller's open transaction (`run` executes in it): the rows commit or roll back with it.
   * With NOTIFY on, the groups are woken once it committed (commit-wake.ts); without, local waiters are woken
   * now (if the caller rolls back they find nothing and wait again) and other processes poll.
   */
  async publishIn(run: StatementRunner, batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const prepared = batch.map((m) => this.prepareMessage(m));
    if (!prepared.some((m) => !(m instanceof Error))) return prepared as Error[];
    const { results, groups, xid } = prepared.length === 1 && !(prepared[0] instanceof Error) ? await this.insertOne(run, prepared[0]!) : await this.insert(run, prepared);
    if (groups.size > 0) {
      if (this.wakeAfterCommit && xid !== undefined) this.wakeAfterCommit(xid, groups);
      else this.announce(groups);
    }
    return results;
  }

  /**
   * Route and insert the batch in one statement (its own transaction on the pool, or part of the caller's):
   * bindings are read by the statement itself, so they are current across processes, and on the pool the
   * NOTIFY goes out with it. One round trip per batch.
   */
  private async insert(on: Pool | StatementRunner, prepared: ReadonlyArray<PreparedMessage | Error>): Promise<{ results: PublishResult[]; groups: Set<string>; xid: string | undefined }> {
    const ok = prepared.filter((m): m is PreparedMessage => !(m instanceof Error));
    const parts: Buffer[] = [];
    const headerBytes: number[] = [];
    const offsets: number[] = [];
    let unkeyed = true;
    let at = 0;
    for (const m of ok) {
      const h = Buffer.from(m.headers, "utf8");
      parts.push(h, m.body);
      headerBytes.push(h.byteLength);
      offsets.push(at);
      at += h.byteLength + m.body.byteLength;
      if (m.key !== null || m.group !== undefined) unkeyed = false;
    }
    const blob = Buffer.concat(parts, at);
    const topics = textArray(ok.map((m) => m.topic));
    const ids = textArray(ok.map((m) => m.id));
    const delays = integerArray(ok.map((m) => m.delayMs));
    const priorities = integerArray(ok.map((m) => m.priority));
    const bodyBytes = integerArray(ok.map((m) => m.body.byteLength));
    const params: unknown[] = unkeyed
      ? [topics, ids, blob, integerArray(headerBytes), bodyBytes, delays, priorities, integerArray(offsets)]
      : [topics, textArray(ok.map((m) => m.group ?? null)), ids, textArray(ok.map((m) => m.key)), blob, integerArray(headerBytes), delays, priorities, bodyBytes, integerArray(offsets)];
    const [sql, sqlIn, name] = unkeyed ? [this.sql.insertUnkeyed, this.sql.insertUnkeyedIn, `${this.publishStatement}_u`] : [this.sql.insert, this.sql.insertIn, this.publishStatement];
    type Row = { routed?: string[]; topics?: string[]; groups: string[]; xid?: string };
    let rows: Row[];
    if (typeof on !== "function") {
      if (this.notify) params.push(this.t.channel);
      rows = (await query<Row>(on, "publish", sql, params, name)).rows;
    } else {
      rows = await on<Row>(sqlIn, params, `${name}_in`).catch((err: unknown) => {
        throw toPgTransportError(err, "publish");
      });
    }
    const row = rows[0];
    let isRouted: (m: PreparedMessage, i: number) => boolean;
    if (unkeyed) {
      const written = new Set(row?.topics ?? []);
      isRouted = (m) => written.has(m.topic);
    } else {
      const routed = new Set((row?.routed ?? []).map((ord) => Number(ord) - 1));
      isRouted = (_m, i) => routed.has(i);
    }
    let i = 0;
    const results = prepared.map((m): PublishResult => {
      if (m instanceof Error) return m;
      return isRouted(m, i++) ? undefined : this.unroutable(m);
    });
    return { results, groups: new Set(row?.groups ?? []), xid: row?.xid ?? undefined };
  }

  /** One message, on the pool (its own transaction, NOTIFY included) or in the caller's: `insert` without its arrays. */
  private async insertOne(on: Pool | StatementRunner, m: PreparedMessage): Promise<{ results: PublishResult[]; groups: Set<string>; xid: string | undefined }> {
    const toGroup = m.group !== undefined;
    const params: unknown[] = toGroup ? [m.topic, m.group, m.id, m.key, m.headers, m.body, m.delayMs, m.priority] : [m.topic, m.id, m.key, m.headers, m.body, m.delayMs, m.priority];
    type Row = { group_name: string; xid?: string };
    let rows: Row[];
    if (typeof on !== "function") {
      if (this.notify) params.push(this.t.channel);
      rows = (await query<Row>(on, "publish", toGroup ? this.sql.insertOneToGroup : this.sql.insertOne, params, `${this.publishStatement}_1${toGroup ? "g" : ""}`)).rows;
    } else {
      rows = await on<Row>(toGroup ? this.sql.insertOneToGroupIn : this.sql.insertOneIn, params, `${this.publishStatement}_in1${toGroup ? "g" : ""}`).catch((err: unknown) => {
        throw toPgTransportError(err, "publish");
      });
    }
    const result = rows.length > 0 ? undefined : this.unroutable(m);
    return { results: [result], groups: new Set(rows.map((r) => r.group_name)), xid: rows[0]?.xid };
  }

  private unroutable(m: PreparedMessage): UnroutableError {
    return m.group === undefined
      ? new UnroutableError(`no consumer group is bound to topic ${JSON.stringify(m.topic)} (message ${m.id})`)
      : new UnroutableError(`consumer group ${JSON.stringify(m.group)} does not exist (message ${m.id} on ${JSON.stringify(m.topic)})`);
  }

  // Encoding and checks happen before the transaction, to keep it short.
  private prepareMessage(m: OutgoingMessage): PreparedMessage | Error {
    if (typeof m.topic !== "string" || m.topic === "") return new ConfigurationError("postgres transport: a message needs a non-empty topic");
    if (typeof m.id !== "string" || m.id === "") return new ConfigurationError(`postgres transport: a message on ${JSON.stringify(m.topic)} needs a non-empty id`);
    const body = m.wire.body;
    if (!(body instanceof Uint8Array)) return new ConfigurationError(`postgres transport: message ${m.id} body must be a Uint8Array`);
    const delayMs = m.delayMs ?? 0;
    if (typeof delayMs !== "number" || Number.isNaN(delayMs)) return new ConfigurationError(`postgres transport: message ${m.id} has an invalid delayMs`);
    if (m.wire.headers === null || typeof m.wire.headers !== "object") return new ConfigurationError(`postgres transport: message ${m.id} headers must be a record of strings`);
    const headers = encodeHeaders(m.wire.headers);
    const size = Buffer.byteLength(headers) + body.byteLength;
    if (size > this.maxMessageBytes) return new MessageTooLargeError(`message ${m.id} is ${size} bytes, the postgres transport accepts at most ${this.maxMessageBytes}`);
    return {
      topic: m.topic,
      id: m.id,
      key: m.key ?? null,
      headers,
      body: Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      delayMs: delayMs > 0 ? Math.min(Math.ceil(delayMs), 8.64e15) : 0,
      group: m.group,
      priority: m.priority !== undefined && Number.isInteger(m.priority) && m.priority >= 0 && m.priority <= 9 ? m.priority : 0,
    };
  }

  /** A group or binding once durable stays durable: a temporary subscription never demotes it. */
  bind(group: string, topics: readonly string[], temporary: boolean): Promise<void> {
    return inTransaction(this.pool, "bind", async (client) => {
      await client.query(
        `INSERT INTO ${this.t.groups} (group_name, temporary) VALUES ($1, $2)
         ON CONFLICT (group_name) DO UPDATE SET temporary = ${this.t.groups}.temporary AND excluded.temporary`,
        [group, temporary],
      );
      await client.query(
        `INSERT INTO ${this.t.bindings} (topic, group_name, temporary) SELECT topic, $2, $3 FROM unnest($1::text[]) AS topic
         ON CONFLICT (topic, group_name) DO UPDATE SET temporary = ${this.t.bindings}.temporary AND excluded.temporary`,
        [[...new Set(topics)], group, temporary],
      );
    });
  }

  /** Remove a temporary group, its bindings and its queued rows; a group made durable since is left alone. */
  dropTemporaryGroup(group: string): Promise<void> {
    return inTransaction(this.pool, "dropping a temporary group", async (client) => {
      await client.query(`DELETE FROM ${this.t.queue} WHERE group_name = $1 AND EXISTS (SELECT 1 FROM ${this.t.groups} WHERE group_name = $1 AND temporary)`, [group]);
      await client.query(`DELETE FROM ${this.t.bindings} WHERE group_name = $1 AND temporary`, [group]);
      await client.query(`DELETE FROM ${this.t.groups} WHERE group_name = $1 AND temporary`, [group]);
    });
  }

  /** Lease up to `max` visible rows for `leaseMs`. */
  async claim(group: string, ordered: boolean, max: number, leaseMs: number): Promise<Claim> {
    const token = randomUUID();
    const { rows } = await query<ClaimedRow>(this.pool, "claiming messages", ordered ? this.sql.claimHeads : this.sql.claimAll, [group, max, leaseMs, token], `${this.publishStatement}_claim${ordered ? "h" : "a"}`);
    // Highest priority first, then seq (an ordered claim holds at most one row of a key).
    rows.sort((a, b) => b.priority - a.priority || compareSeq(a.seq, b.seq));
    return { token, rows };
  }

  /** Ms until the earliest future `visible_at` in the group (a delay ending, a lease expiring), if any. */
  async nextVisibleIn(group: string, ordered: boolean): Promise<number | undefined> {
    const { rows } = await query<{ wait: string | null }>(this.pool, "reading the queue", ordered ? this.sql.nextHeads : this.sql.nextAll, [group]);
    const wait = rows[0]?.wait;
    return wait === null || wait === undefined ? undefined : Math.max(0, Number(wait));
  }

  /** Extend the leases still held; resolves with which were lost (someone else's now). */
  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    const { rows } = await query<{ seq: string }>(this.pool, "renewing leases", this.sql.renew, [leases.map((l) => l.seq), leases.map((l) => l.token), leaseMs]);
    const kept = new Set(rows.map((r) => String(r.seq)));
    return leases.map((l) => !kept.has(l.seq));
  }

  /**
   * Delete the rows whose leases are still held, in one statement (its own transaction, one round trip, prepared);
   * resolves with which were kept.
   */
  async ackMany(leases: readonly LeaseRef[]): Promise<boolean[]> {
    const params: unknown[] = [integerArray(leases.map((l) => l.seq)), textArray(leases.map((l) => l.token))];
    const keyed = leases.some((l) => l.key !== undefined);
    const waking = this.notify && keyed;
    if (waking) params.push(this.t.channel);
    const [sql, suffix] = waking ? [this.sql.ackWaking, "w"] : keyed ? [this.sql.ackKeyed, "k"] : [this.sql.ack, ""];
    const { rows } = await query<AckedRow>(this.pool, "acking messages", sql, params, `${this.publishStatement}_ack${suffix}`);
    const kept = keptLeases(leases, rows[0]);
    // Deleting a key's head makes the next row of the key claimable: this process's waiters hear it now.
    const unblocked = new Set<string>();
    leases.forEach((l, i) => {
      if (l.key !== undefined && kept[i]) unblocked.add(l.group);
    });
    if (unblocked.size > 0) this.announce(unblocked);
    return kept;
  }

  /**
   * Delete the leased row with `client`, inside the caller's open transaction (the inbox's): false when the
   * lease is someone else's. A key's next row becomes claimable at the commit, when the NOTIFY goes out;
   * `announceAcked` wakes this process's own waiters after it.
   */
  async ackIn(client: PoolClient, lease: LeaseRef): Promise<boolean> {
    try {
      const r = await client.query<AckedRow>(this.sql.ack, [[lease.seq], [lease.token]]);
      if (!(Number(r.rows[0]?.n) > 0)) return false;
      if (lease.key !== undefined && this.notify) await client.query(this.sql.notify, [this.t.channel, [lease.group]]);
      return true;
    } catch (err) {
      throw toPgTransportError(err, "acking a message in the inbox's transaction");
    }
  }

  /** The transaction holding `ackIn` committed. */
  announceAcked(lease: LeaseRef): void {
    if (lease.key !== undefined) this.announce([lease.group]);
  }

  retry(lease: LeaseRef, delayMs: number, headers: Readonly<Record<string, string>>): Promise<boolean> {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? Math.ceil(delayMs) : 0;
    return this.settleOne("retrying a message", lease, this.sql.retry, [lease.seq, lease.token, delay, encodeHeaders(headers)], true);
  }

  deadLetter(lease: LeaseRef, headers: Readonly<Record<string, string>>): Promise<boolean> {
    return this.settleOne("dead-lettering a message", lease, this.sql.deadLetter, [lease.seq, lease.token, encodeHeaders(headers), headers[DiagnosticHeaders.errorCode] ?? null, headers[DiagnosticHeaders.errorClass] ?? null], lease.key !== undefined);
  }

  /** One delivery whose handler never ran goes back, claimable at once, its claim not counted as an attempt. */
  releaseUnhandled(lease: LeaseRef): Promise<boolean> {
    return this.settleOne("releasing a message", lease, this.sql.releaseUnhandled, [lease.seq, lease.token], true);
  }

  /** Hand leases back so the rows are claimable at once (transport close); lost leases are ignored. */
  async release(leases: readonly LeaseRef[]): Promise<void> {
    await query(this.pool, "releasing messages", this.sql.release, [leases.map((l) => l.seq), leases.map((l) => l.token)]);
    const groups = new Set(leases.map((l) => l.group));
    if (this.notify) await query(this.pool, "waking consumers", this.sql.notify, [this.t.channel, [...groups]]);
    this.announce(groups);
  }

  private async settleOne(what: string, lease: LeaseRef, sql: string, params: unknown[], wake: boolean): Promise<boolean> {
    const changed = await inTransaction(this.pool, what, async (client) => {
      const r = await client.query(sql, params);
      if ((r.rowCount ?? 0) === 0) return false;
      if (wake && this.notify) await client.query(this.sql.notify, [this.t.channel, [lease.group]]);
      return true;
    });
    if (changed && wake) this.announce([lease.group]);
    return changed;
  }
}

/** Seqs are BIGINT, handed over as decimal strings. */
export function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * SQL taking the advisory locks whose ids `ids` selects (column `h`), each once, in ascending order: every statement
 * that takes several keys' locks takes them in this one order, so two of them cannot wait on each other (the key
 * triggers then find the lock held by their own transaction). OFFSET 0 keeps the sort below the lock calls.
 */
function lockKeysInOrder(ids: string): string {
  return `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT h FROM (${ids}) ids ORDER BY h OFFSET 0) sorted`;
}

/** A condition always true that reads the `locked` CTE (lockKeysInOrder): the rows are written only after its locks are taken. */
const AFTER_LOCKS = "(SELECT count(*) FROM locked) >= 0";

/**
 * Every SQL statement that touches the queue, groups and bindings, prepared
 * once. Writes go through the WriteBatcher (group commit); the cheap reads
 * that decide whether a write is worth taking the lock for run directly.
 */
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { ConfigurationError, MessageTooLargeError, UnroutableError } from "../../errors.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import type { FailureSignatures } from "./failure-signatures.js";
import { encodeHeaders } from "./headers-json.js";
import { tableNames } from "./schema.js";
import { toTransportError } from "./sqlite-errors.js";
import type { WriteBatcher, WriteContext } from "./write-batcher.js";

/** A queue row as a claim returns it. */
export interface ClaimedRow {
  readonly seq: number;
  readonly topic: string;
  readonly message_id: string;
  readonly key: string | null;
  readonly headers: unknown;
  readonly body: unknown;
  readonly attempts: number;
  readonly priority: number;
}

export interface Claim {
  readonly token: string;
  readonly rows: ClaimedRow[];
}

/** Identifies one leased row: settles and renewals must name the lease they hold. */
export interface LeaseRef {
  readonly seq: number;
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

/** Priority levels, highest first: claims read one index range per level. */
const LEVELS = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] as const;

type Stmt = Database.Statement<unknown[], unknown>;

export class QueueStore {
  private readonly s: {
    insert: Stmt; boundGroups: Stmt; groupExists: Stmt;
    claimable: [Stmt, Stmt]; nextVisible: [Stmt, Stmt]; claim: [Stmt, Stmt];
    renew: Stmt; ack: Stmt; retry: Stmt; release: Stmt; releaseUnhandled: Stmt; copyToDeadLetters: Stmt;
    upsertGroup: Stmt; upsertBinding: Stmt;
    dropTempRows: Stmt; dropTempBindings: Stmt; dropTempGroup: Stmt;
    dataVersion: Stmt;
  };
  // Routes are read inside the write transaction (so they are current across processes)
  // and remembered for the rest of that transaction only.
  private routeCtx: WriteContext | undefined;
  private readonly topicRoutes = new Map<string, readonly string[]>();
  private readonly groupRoutes = new Map<string, readonly string[]>();

  constructor(
    private readonly db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
    private readonly maxMessageBytes: number,
    /** Indexes each dead letter's failure signature as it is written (failure-signatures.ts). */
    private readonly signatures?: FailureSignatures,
  ) {
    const t = tableNames(prefix);
    const q = t.queue;
    const insertCols = `${q} (group_name, topic, message_id, key, headers, body, visible_at, attempts, enqueued_at, priority)`;
    const prep = (sql: string): Stmt => db.prepare(sql);
    // Index [0] serves unordered consumers, [1] ordered ones. Ordered consumers read only key heads
    // (blocked = 0); unordered ones read both ranges of the claim index, each in index order, merged.
    // Highest priority first, then earliest visible: one index range per (blocked, priority), merged.
    const dueAt = (blocked: 0 | 1, priority: number): string =>
      `SELECT * FROM (SELECT seq, priority, visible_at FROM ${q} WHERE group_name = @group AND blocked = ${blocked} AND priority = ${priority} AND visible_at <= @now ORDER BY visible_at, seq LIMIT @max)`;
    const due = (ranges: ReadonlyArray<0 | 1>): string =>
      `SELECT seq FROM (${ranges.flatMap((b) => LEVELS.map((p) => dueAt(b, p))).join(" UNION ALL ")}) ORDER BY priority DESC, visible_at, seq LIMIT @max`;
    const dueHeads = due([0]);
    const dueAll = due([0, 1]);
    const claimSql = (pick: string): string =>
      `UPDATE ${q} SET visible_at = @until, lease_token = @token, attempts = attempts + 1 WHERE seq IN (${pick})
       RETURNING seq, topic, message_id, key, headers, body, attempts, priority`;
    const minAt = (blocked: 0 | 1, priority: number): string =>
      `SELECT MIN(visible_at) AS v FROM ${q} WHERE group_name = @group AND blocked = ${blocked} AND priority = ${priority} AND visible_at > @now`;
    const minOf = (ranges: ReadonlyArray<0 | 1>): string => `SELECT MIN(v) FROM (${ranges.flatMap((b) => LEVELS.map((p) => minAt(b, p))).join(" UNION ALL ")})`;
    const anyDue = (blocked: string): string =>
      `SELECT 1 FROM ${q} WHERE group_name = @group AND blocked ${blocked} AND priority IN (${LEVELS.join(", ")}) AND visible_at <= @now LIMIT 1`;
    this.s = {
      insert: prep(`INSERT INTO ${insertCols} VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`),
      boundGroups: prep(`SELECT group_name FROM ${t.bindings} WHERE topic = ?`).pluck(),
      groupExists: prep(`SELECT group_name FROM ${t.groups} WHERE group_name = ?`).pluck(),
      claimable: [prep(anyDue("IN (0, 1)")).pluck(), prep(anyDue("= 0")).pluck()],
      nextVisible: [prep(minOf([0, 1])).pluck(), prep(minOf([0])).pluck()],
      claim: [prep(claimSql(dueAll)), prep(claimSql(dueHeads))],
      renew: prep(`UPDATE ${q} SET visible_at = ? WHERE seq = ? AND lease_token = ?`),
      ack: prep(`DELETE FROM ${q} WHERE seq = ? AND lease_token = ?`),
      retry: prep(`UPDATE ${q} SET visible_at = ?, headers = ?, lease_token = NULL WHERE seq = ? AND lease_token = ?`),
      release: prep(`UPDATE ${q} SET visible_at = ?, lease_token = NULL WHERE seq = ? AND lease_token = ?`),
      // The claim that handed it out counted an attempt the handler never made: take it back.
      releaseUnhandled: prep(`UPDATE ${q} SET visible_at = ?, lease_token = NULL, attempts = MAX(attempts - 1, 0) WHERE seq = ? AND lease_token = ?`),
      copyToDeadLetters: prep(
        `INSERT INTO ${t.deadLetters} (group_name, topic, message_id, key, headers, body, attempts, dead_lettered_at)
         SELECT group_name, topic, message_id, key, ?, body, attempts, ? FROM ${q} WHERE seq = ? AND lease_token = ?`,
      ),
      // A group or binding once durable stays durable: a temporary subscription never demotes it.
      upsertGroup: prep(`INSERT INTO ${t.groups} (group_name, temporary, created_at) VALUES (?, ?, ?)
                         ON CONFLICT (group_name) DO UPDATE SET temporary = MIN(temporary, excluded.temporary)`),
      upsertBinding: prep(`INSERT INTO ${t.bindings} (topic, group_name, temporary, created_at) VALUES (?, ?, ?, ?)
                           ON CONFLICT (topic, group_name) DO UPDATE SET temporary = MIN(temporary, excluded.temporary)`),
      dropTempRows: prep(`DELETE FROM ${q} WHERE group_name = ? AND EXISTS (SELECT 1 FROM ${t.groups} WHERE group_name = ? AND temporary = 1)`),
      dropTempBindings: prep(`DELETE FROM ${t.bindings} WHERE group_name = ? AND temporary = 1`),
      dropTempGroup: prep(`DELETE FROM ${t.groups} WHERE group_name = ? AND temporary = 1`),
      dataVersion: prep("PRAGMA data_version").pluck(),
    };
  }

  /** One transaction for the whole batch (shared with concurrent batches); per-message results. */
  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const prepared = batch.map((m) => this.prepareMessage(m));
    return this.writer.submit((ctx) => prepared.map((m) => (m instanceof Error ? m : this.insert(m, ctx))), Math.max(1, batch.length));
  }

  private insert(m: PreparedMessage, ctx: WriteContext): PublishResult {
    const groups = this.routeOf(m, ctx);
    if (groups.length === 0) {
      return m.group === undefined
        ? new UnroutableError(`no consumer group is bound to topic ${JSON.stringify(m.topic)} (message ${m.id})`)
        : new UnroutableError(`consumer group ${JSON.stringify(m.group)} does not exist (message ${m.id} on ${JSON.stringify(m.topic)})`);
    }
    const visibleAt = ctx.now + m.delayMs;
    for (const g of groups) {
      this.s.insert.run(g, m.topic, m.id, m.key, m.headers, m.body, visibleAt, ctx.now, m.priority);
      ctx.touch(g);
    }
    return undefined;
  }

  private routeOf(m: PreparedMessage, ctx: WriteContext): readonly string[] {
    if (this.routeCtx !== ctx) {
      this.routeCtx = ctx;
      this.topicRoutes.clear();
      this.groupRoutes.clear();
    }
    const byTopic = m.group === undefined;
    const routes = byTopic ? this.topicRoutes : this.groupRoutes;
    const name = m.group ?? m.topic;
    let groups = routes.get(name);
    if (!groups) routes.set(name, (groups = (byTopic ? this.s.boundGroups : this.s.groupExists).all(name) as string[]));
    return groups;
  }

  // Encoding and checks happen before the transaction, to keep the write lock short.
  private prepareMessage(m: OutgoingMessage): PreparedMessage | Error {
    if (typeof m.topic !== "string" || m.topic === "") return new ConfigurationError("sqlite transport: a message needs a non-empty topic");
    if (typeof m.id !== "string" || m.id === "") return new ConfigurationError(`sqlite transport: a message on ${JSON.stringify(m.topic)} needs a non-empty id`);
    const body = m.wire.body;
    if (!(body instanceof Uint8Array)) return new ConfigurationError(`sqlite transport: message ${m.id} body must be a Uint8Array`);
    const delayMs = m.delayMs ?? 0;
    if (typeof delayMs !== "number" || Number.isNaN(delayMs)) return new ConfigurationError(`sqlite transport: message ${m.id} has an invalid delayMs`);
    if (m.wire.headers === null || typeof m.wire.headers !== "object") return new ConfigurationError(`sqlite transport: message ${m.id} headers must be a record of strings`);
    const headers = encodeHeaders(m.wire.headers);
    const size = Buffer.byteLength(headers) + body.byteLength;
    if (size > this.maxMessageBytes) return new MessageTooLargeError(`message ${m.id} is ${size} bytes, the sqlite transport accepts at most ${this.maxMessageBytes}`);
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

  bind(group: string, topics: readonly string[], temporary: boolean): Promise<void> {
    return this.writer.submit((ctx) => {
      this.routeCtx = undefined; // later publishes in this transaction see the new binding
      const temp = temporary ? 1 : 0;
      this.s.upsertGroup.run(group, temp, ctx.now);
      for (const topic of topics) this.s.upsertBinding.run(topic, group, temp, ctx.now);
    });
  }

  /** Remove a temporary group, its bindings and its queued rows; a group made durable since is left alone. */
  dropTemporaryGroup(group: string): Promise<void> {
    return this.writer.submit(() => {
      this.routeCtx = undefined;
      this.s.dropTempRows.run(group, group);
      this.s.dropTempBindings.run(group);
      this.s.dropTempGroup.run(group);
    });
  }

  /** Cheap read outside any transaction: is a write transaction worth taking? */
  hasClaimable(group: string, ordered: boolean, now: number): boolean {
    return this.read(() => this.s.claimable[ordered ? 1 : 0].get({ group, now }) !== undefined);
  }

  /** Earliest future `visible_at` in the group (a delay ending, a lease expiring), if any. */
  nextVisibleAt(group: string, ordered: boolean, now: number): number | undefined {
    const v = this.read(() => this.s.nextVisible[ordered ? 1 : 0].get({ group, now }));
    return typeof v === "number" ? v : undefined;
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toTransportError(err, "reading the queue failed");
    }
  }

  /** Lease up to `max` visible rows for `leaseMs`, in one short write transaction. */
  async claim(group: string, ordered: boolean, max: number, leaseMs: number): Promise<Claim> {
    if (!this.hasClaimable(group, ordered, Date.now())) return { token: "", rows: [] };
    return this.writer.submit((ctx) => {
      const token = randomUUID();
      const rows = this.s.claim[ordered ? 1 : 0].all({ until: ctx.now + leaseMs, token, group, now: ctx.now, max }) as ClaimedRow[];
      // Highest priority first, then seq (an ordered claim holds at most one row of a key).
      rows.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      return { token, rows };
    });
  }

  /** Extend the leases still held; resolves with which were lost (someone else's now). */
  renew(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    return this.writer.submit((ctx) => leases.map((l) => this.s.renew.run(ctx.now + leaseMs, l.seq, l.token).changes === 0), leases.length);
  }

  // Settles resolve true when the lease still held and the write committed, false when the lease was lost.
  ack(lease: LeaseRef): Promise<boolean> {
    return this.writer.submit((ctx) => {
      if (this.s.ack.run(lease.seq, lease.token).changes === 0) return false;
      // Deleting a key's head makes the next row of the key claimable.
      if (lease.key !== undefined) ctx.touch(lease.group);
      return true;
    });
  }

  retry(lease: LeaseRef, delayMs: number, headers: Readonly<Record<string, string>>): Promise<boolean> {
    const json = encodeHeaders(headers);
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? Math.ceil(delayMs) : 0;
    return this.writer.submit((ctx) => {
      if (this.s.retry.run(ctx.now + delay, json, lease.seq, lease.token).changes === 0) return false;
      ctx.touch(lease.group);
      return true;
    });
  }

  deadLetter(lease: LeaseRef, headers: Readonly<Record<string, string>>): Promise<boolean> {
    const json = encodeHeaders(headers);
    return this.writer.submit((ctx) => {
      const copied = this.s.copyToDeadLetters.run(json, ctx.now, lease.seq, lease.token);
      if (copied.changes === 0) return false;
      this.signatures?.indexEntry(Number(copied.lastInsertRowid));
      this.s.ack.run(lease.seq, lease.token);
      if (lease.key !== undefined) ctx.touch(lease.group);
      return true;
    });
  }

  /** One delivery whose handler never ran goes back, claimable at once, its claim not counted as an attempt. */
  releaseUnhandled(lease: LeaseRef): Promise<boolean> {
    return this.writer.submit((ctx) => {
      if (this.s.releaseUnhandled.run(ctx.now, lease.seq, lease.token).changes === 0) return false;
      ctx.touch(lease.group);
      return true;
    });
  }

  /** Hand leases back so the rows are claimable at once (transport close); lost leases are ignored. */
  release(leases: readonly LeaseRef[]): Promise<void> {
    return this.writer.submit((ctx) => {
      for (const l of leases) if (this.s.release.run(ctx.now, l.seq, l.token).changes > 0) ctx.touch(l.group);
    }, leases.length);
  }

  /** A commit outside the batcher changed `group`'s queue (an inbox ack): wake its waiters. */
  announce(group: string): void {
    this.writer.announce(new Set([group]));
  }

  /** Changes whenever another connection commits to the file. */
  dataVersion(): number | undefined {
    if (!this.db.open) return undefined;
    try {
      return this.s.dataVersion.get() as number;
    } catch {
      // Closing under a waiting receive: no version means "poll", and the receive ends with the transport.
      return undefined;
    }
  }
}

/**
 * The spool as one SQLite file (docs/contract.md §7): WAL with `synchronous = FULL`,
 * so an append that returned is on disk and survives SIGKILL or power loss.
 * Counters of rows and bytes live in a row of their own, updated in the same
 * transaction as the rows, so the bounds hold across processes sharing the
 * file without counting the table on every append. The flush lease is a row
 * too: several producers may append to one file, one flushes it at a time.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import Database from "better-sqlite3";
import { ConfigurationError, SpoolFullError } from "../../errors.js";
import type { OutgoingMessage } from "../../transport/transport.js";
import { SPOOL_DEFAULTS, spooledBytes, type Spool, type SpoolDepth, type SpooledMessage, type SpoolLease, type SpoolStatusRecord } from "../../runtime/spool.js";
import { RECOUNT, SPOOL_SCHEMA } from "./schema.js";
import { decodeSpoolHeaders, encodeSpoolHeaders } from "./spool-headers.js";
import { wirePriority } from "../../envelope/expiry-priority.js";

export interface SqliteSpoolOptions {
  /** The spool file; created when missing. */
  readonly path: string;
  /** Most messages held (waiting + parked). Default 100 000. */
  readonly maxMessages?: number;
  /** Most bytes (headers + bodies) held. Default 256 MiB. */
  readonly maxBytes?: number;
  /** How long a write waits for another process's write lock, ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Open read-only (the CLI's inspect): no schema is created, every write throws. Default false. */
  readonly readonly?: boolean;
  /**
   * Create the spool's tables when the file has none (a producer's first
   * start). False: the file must already be a spool, and nothing in it is
   * touched otherwise (the CLI, which may be pointed at any file). Default true.
   */
  readonly create?: boolean;
}

const BUSY_TIMEOUT_MS = 5000;

/** A row as stored; typed loosely, since a damaged or hand-edited file can hold anything. */
interface Row {
  seq: number;
  id: unknown;
  topic: unknown;
  key: unknown;
  grp: unknown;
  due_at: number | null;
  headers: unknown;
  body: unknown;
  spooled_at: number;
  attempts: number;
}

/** Open (creating when missing) a spool file. */
export function openSqliteSpool(options: SqliteSpoolOptions): Spool {
  return new SqliteSpool(options);
}

class SqliteSpool implements Spool {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly host = hostname();
  private readonly node = nodeIdentity();
  private readonly stmt: ReturnType<SqliteSpool["prepare"]>;

  constructor(options: SqliteSpoolOptions) {
    if (typeof options.path !== "string" || options.path === "" || options.path === ":memory:") {
      throw new ConfigurationError("spool.path must name a file (the spool must outlive the process)");
    }
    this.path = options.path;
    this.maxMessages = bound(options.maxMessages, SPOOL_DEFAULTS.maxMessages, "spool.maxMessages");
    this.maxBytes = bound(options.maxBytes, SPOOL_DEFAULTS.maxBytes, "spool.maxBytes");
    const busy = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
    try {
      this.db = new Database(options.path, options.readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (cause) {
      throw new ConfigurationError(`cannot open spool file ${JSON.stringify(options.path)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    try {
      this.db.pragma(`busy_timeout = ${busy}`);
      const isSpool = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'missive_spool'").get() !== undefined;
      if (!isSpool && (options.readonly || options.create === false)) throw new Error("it has no missive_spool table");
      if (!options.readonly) {
        this.db.pragma("journal_mode = WAL");
        // FULL: a commit is fsynced before it returns, so "spooled" means on disk.
        this.db.pragma("synchronous = FULL");
        this.db.transaction(() => {
          this.db.exec(SPOOL_SCHEMA);
          // Counters are recounted from the rows at every open: a damaged or hand-edited file heals here.
          this.db.exec(RECOUNT);
        }).immediate();
      }
      // Positions are JS numbers: a (hand-made) position past 2^53 would be rounded and never match its row.
      const top = this.db.prepare("SELECT max(seq) AS top FROM missive_spool").safeIntegers(true).get() as { top: bigint | null };
      if (top.top !== null && top.top > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`a position (${top.top}) is past 2^53`);
      this.stmt = this.prepare();
    } catch (cause) {
      this.db.close();
      throw new ConfigurationError(`${JSON.stringify(options.path)} is not a usable missive spool: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare("INSERT INTO missive_spool (id, topic, key, grp, due_at, headers, body, bytes, spooled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      counters: db.prepare("SELECT messages, bytes, parked FROM missive_spool_counters WHERE one = 1"),
      count: db.prepare(`SELECT count(*) FILTER (WHERE parked_at IS NULL) AS messages, coalesce(sum(bytes), 0) AS bytes,
        count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked FROM missive_spool`),
      addCounters: db.prepare("UPDATE missive_spool_counters SET messages = messages + ?, bytes = bytes + ?, parked = parked + ? WHERE one = 1"),
      peek: db.prepare("SELECT seq, id, topic, key, grp, due_at, headers, body, spooled_at, attempts FROM missive_spool WHERE parked_at IS NULL ORDER BY seq LIMIT ?"),
      parked: db.prepare("SELECT seq, id, topic, key, grp, due_at, headers, body, spooled_at, attempts, parked_at, last_error FROM missive_spool WHERE parked_at IS NOT NULL ORDER BY seq LIMIT ?"),
      oldest: db.prepare("SELECT spooled_at FROM missive_spool WHERE parked_at IS NULL ORDER BY seq LIMIT 1"),
      // One statement per row: what it held comes back for the counters.
      remove: db.prepare("DELETE FROM missive_spool WHERE seq = ? RETURNING bytes, parked_at"),
      attempted: db.prepare("UPDATE missive_spool SET attempts = attempts + 1 WHERE seq = ?"),
      park: db.prepare("UPDATE missive_spool SET parked_at = ?, last_error = ? WHERE seq = ? AND parked_at IS NULL"),
      unpark: db.prepare("UPDATE missive_spool SET parked_at = NULL, last_error = NULL WHERE parked_at IS NOT NULL"),
      hasKey: db.prepare("SELECT 1 FROM missive_spool WHERE key = ? AND parked_at IS NULL LIMIT 1"),
      meta: db.prepare("SELECT value FROM missive_spool_meta WHERE name = ?"),
      setMeta: db.prepare("INSERT INTO missive_spool_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
      deleteMeta: db.prepare("DELETE FROM missive_spool_meta WHERE name = ?"),
    };
  }

  append(messages: readonly OutgoingMessage[]): number[] {
    if (messages.length === 0) return [];
    const sizes = messages.map(spooledBytes);
    const total = sizes.reduce((a, b) => a + b, 0);
    const now = Date.now();
    return this.db.transaction(() => {
      const c = this.counters();
      if (c.messages + c.parked + messages.length > this.maxMessages || c.bytes + total > this.maxBytes) {
        throw new SpoolFullError(
          `spool ${this.path} is full: ${c.messages + c.parked} of ${this.maxMessages} messages, ${c.bytes} of ${this.maxBytes} bytes; ${messages.length} more (${total} bytes) do not fit`,
        );
      }
      const seqs: number[] = [];
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]!;
        const due = m.delayMs !== undefined && m.delayMs > 0 ? now + m.delayMs : null;
        const info = this.stmt.insert.run(m.id, m.topic, m.key ?? null, m.group ?? null, due, encodeSpoolHeaders(m.wire.headers), m.wire.body, sizes[i]!, now);
        seqs.push(Number(info.lastInsertRowid));
      }
      this.stmt.addCounters.run(messages.length, total, 0);
      return seqs;
    }).immediate();
  }

  room(): { messages: number; bytes: number } {
    const c = this.counters();
    return { messages: Math.max(0, this.maxMessages - c.messages - c.parked), bytes: Math.max(0, this.maxBytes - c.bytes) };
  }

  peek(limit: number): SpooledMessage[] {
    const now = Date.now();
    return (this.stmt.peek.all(limit) as Row[]).map((r) => toSpooled(r, now));
  }

  parked(limit: number): Array<SpooledMessage & { reason: string; parkedAt: number }> {
    const now = Date.now();
    return (this.stmt.parked.all(limit) as Array<Row & { parked_at: number; last_error: string | null }>).map((r) => ({
      ...toSpooled(r, now),
      reason: r.last_error ?? "",
      parkedAt: r.parked_at,
    }));
  }

  remove(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    return this.db.transaction(() => {
      let n = 0;
      let bytes = 0;
      let parked = 0;
      for (const seq of seqs) {
        const row = this.stmt.remove.get(seq) as { bytes: number; parked_at: number | null } | undefined;
        if (!row) continue;
        bytes += row.bytes;
        if (row.parked_at === null) n++;
        else parked++;
      }
      if (n + parked > 0) this.stmt.addCounters.run(-n, -bytes, -parked);
      return n + parked;
    }).immediate();
  }

  attempted(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.db.transaction(() => {
      for (const seq of seqs) this.stmt.attempted.run(seq);
    }).immediate();
  }

  park(seq: number, reason: string): void {
    this.db.transaction(() => {
      if (this.stmt.park.run(Date.now(), reason.slice(0, 2000), seq).changes > 0) this.stmt.addCounters.run(-1, 0, 1);
    }).immediate();
  }

  unpark(): number {
    return this.db.transaction(() => {
      const n = this.stmt.unpark.run().changes;
      if (n > 0) this.stmt.addCounters.run(n, 0, -n);
      return n;
    }).immediate();
  }

  depth(): SpoolDepth {
    const c = this.counters();
    const oldest = c.messages > 0 ? (this.stmt.oldest.get() as { spooled_at: number } | undefined)?.spooled_at : undefined;
    return { messages: c.messages, bytes: c.bytes, parked: c.parked, oldestSpooledAt: oldest };
  }

  hasKey(key: string): boolean {
    return this.stmt.hasKey.get(key) !== undefined;
  }

  lease(owner: string, ttlMs: number): boolean {
    return this.db.transaction(() => {
      const now = Date.now();
      const held = this.leaseHolder();
      if (held && held.owner !== owner && held.expiresAt > now && !this.ownerIsDead(held)) return false;
      const lease: SpoolLease = { owner, host: this.host, pid: process.pid, node: this.node, expiresAt: now + ttlMs };
      this.stmt.setMeta.run("lease", JSON.stringify(lease));
      return true;
    }).immediate();
  }

  releaseLease(owner: string): void {
    this.db.transaction(() => {
      if (this.leaseHolder()?.owner === owner) this.stmt.deleteMeta.run("lease");
    }).immediate();
  }

  leaseHolder(): SpoolLease | undefined {
    const v = this.readJson("lease");
    if (!v) return undefined;
    // Checked field by field: the file may have been edited by hand (and the CLI prints these).
    const { owner, host, pid, node, expiresAt } = v;
    if (typeof owner !== "string" || typeof host !== "string" || !Number.isSafeInteger(pid) || !isTime(expiresAt)) return undefined;
    return { owner, host, pid: pid as number, expiresAt, ...(typeof node === "string" ? { node } : {}) };
  }

  writeStatus(status: SpoolStatusRecord): void {
    this.stmt.setMeta.run("status", JSON.stringify(status));
  }

  readStatus(): SpoolStatusRecord | undefined {
    const v = this.readJson("status");
    if (!v) return undefined;
    const { broker, breaker, pid, host, at, reason } = v;
    if ((broker !== "up" && broker !== "down") || (breaker !== "closed" && breaker !== "open" && breaker !== "half-open")) return undefined;
    if (!Number.isSafeInteger(pid) || typeof host !== "string" || !isTime(at)) return undefined;
    return { broker, breaker, pid: pid as number, host, at, ...(typeof reason === "string" ? { reason } : {}) };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private counters(): { messages: number; bytes: number; parked: number } {
    // The row is missing only from a damaged file opened read-only (a writable open recounts): count the rows.
    return (this.stmt.counters.get() ?? this.stmt.count.get()) as { messages: number; bytes: number; parked: number };
  }

  private readJson(name: string): Record<string, unknown> | undefined {
    const row = this.stmt.meta.get(name) as { value: unknown } | undefined;
    if (!row || typeof row.value !== "string") return undefined;
    try {
      const value: unknown = JSON.parse(row.value);
      return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** A holder on this node (host, boot, PID namespace) whose process is gone (SIGKILLed): its lease need not run out first. */
  private ownerIsDead(lease: SpoolLease): boolean {
    if (lease.node !== this.node || !Number.isInteger(lease.pid) || lease.pid <= 0) return false;
    if (lease.pid === process.pid) return false;
    try {
      process.kill(lease.pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ESRCH";
    }
  }
}

function toSpooled(r: Row, now: number): SpooledMessage {
  const headers = decodeSpoolHeaders(r.headers);
  const body = r.body instanceof Uint8Array ? new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength) : new Uint8Array(0);
  const id = typeof r.id === "string" ? r.id : String(r.id);
  const message: { -readonly [K in keyof OutgoingMessage]: OutgoingMessage[K] } = {
    topic: typeof r.topic === "string" ? r.topic : String(r.topic),
    id,
    key: typeof r.key === "string" ? r.key : undefined,
    wire: { headers: headers ?? (Object.create(null) as Record<string, string>), body },
  };
  // A delay counts from when the message was published, not from the flush.
  if (typeof r.due_at === "number" && r.due_at > now) message.delayMs = r.due_at - now;
  if (typeof r.grp === "string") message.group = r.grp;
  const priority = wirePriority(message.wire.headers);
  if (priority !== undefined) message.priority = priority;
  const damaged = damageOf(r, headers);
  return { seq: r.seq, message, spooledAt: r.spooled_at, attempts: r.attempts, ...(damaged === undefined ? {} : { damaged }) };
}

/** Why a row cannot be sent as it was published, if it cannot. */
function damageOf(r: Row, headers: Record<string, string> | undefined): string | undefined {
  if (!(r.body instanceof Uint8Array)) return "damaged row: the body is not bytes";
  if (!headers) return "damaged row: the headers are not a JSON object of strings";
  if (typeof r.id !== "string" || typeof r.topic !== "string") return "damaged row: id or topic is not text";
  if (r.key !== null && typeof r.key !== "string") return "damaged row: the key is not text";
  if (r.grp !== null && typeof r.grp !== "string") return "damaged row: the group is not text";
  const ceId = headers["ce-id"];
  if (ceId !== undefined && ceId !== r.id) return "damaged row: its id disagrees with its ce-id header";
  return undefined;
}

/**
 * The host name, boot id and PID namespace: two processes with the same node
 * see the same pids, so one can tell the other's process is gone. Where the
 * latter two cannot be read (not Linux), the host name alone.
 */
function nodeIdentity(): string {
  const parts = [hostname()];
  try {
    parts.push(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    parts.push(readlinkSync("/proc/self/ns/pid"));
  } catch {
    // Not Linux: no PID namespaces to tell apart.
  }
  return parts.join("/");
}

/** A Unix ms a Date can hold. */
function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
}

function bound(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ConfigurationError(`${what} must be a positive integer`);
  return v;
}

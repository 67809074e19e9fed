/**
 * Which missive processes write to this file, and with which connection
 * settings. `synchronous` and `busy_timeout` are per connection: nothing in
 * the file says what another process chose, so each process records its own
 * (read back from its connection, not from its options) in the processes
 * table when it first publishes or subscribes, heartbeats `seen_at`, and
 * removes its row on a clean close. `missive doctor` reads these rows
 * instead of its own connection's settings. A process that only reads (the
 * CLI's `queues`, `doctor`) never records itself: its settings decide nothing.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type Database from "better-sqlite3";
import { MISSIVE_VERSION } from "../../version.js";
import { silentContext } from "../../transport/context.js";
import type { TransportContext } from "../../transport/transport.js";
import { HEARTBEAT_MS, LIVE_MS } from "./consumer-registry.js";
import { tableNames } from "./schema.js";
import type { WriteBatcher } from "./write-batcher.js";

const HOST = hostname().slice(0, 128);
const SYNCHRONOUS = ["OFF", "NORMAL", "FULL", "EXTRA"] as const;

/** One process's row, with whether it is still alive. */
export interface ProcessRecord {
  readonly processId: string;
  readonly host: string;
  readonly pid: number;
  readonly missiveVersion: string;
  /** `OFF`, `NORMAL`, `FULL` or `EXTRA`, as its connection reported it. */
  readonly synchronous: string;
  readonly journalMode: string;
  readonly busyTimeoutMs: number;
  readonly startedAt: number;
  readonly seenAt: number;
  /** Why the row is not a live process, or undefined when it is one. */
  readonly dead: string | undefined;
}

/** The connection's own settings, read back from SQLite. */
export function connectionSettings(db: Database.Database): { synchronous: string; journalMode: string; busyTimeoutMs: number } {
  const level = Number(db.pragma("synchronous", { simple: true }));
  return {
    synchronous: SYNCHRONOUS[level] ?? String(level),
    journalMode: String(db.pragma("journal_mode", { simple: true })),
    busyTimeoutMs: Number(db.pragma("busy_timeout", { simple: true })),
  };
}

type Stmt = Database.Statement<unknown[], unknown>;

export class ProcessRegistry {
  readonly processId = randomUUID();
  private registering: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly s: { add: Stmt; seen: Stmt; remove: Stmt; all: Stmt };

  constructor(
    private readonly db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
    private readonly context: TransportContext = silentContext,
  ) {
    const t = tableNames(prefix).processes;
    this.s = {
      add: db.prepare(
        `INSERT OR REPLACE INTO ${t} (process_id, host, pid, missive_version, synchronous, journal_mode, busy_timeout_ms, started_at, seen_at)
         VALUES (@processId, @host, @pid, @version, @synchronous, @journalMode, @busyTimeoutMs, @now, @now)`,
      ),
      seen: db.prepare(`UPDATE ${t} SET seen_at = ? WHERE process_id = ?`),
      remove: db.prepare(`DELETE FROM ${t} WHERE process_id = ?`),
      all: db.prepare(`SELECT process_id, host, pid, missive_version, synchronous, journal_mode, busy_timeout_ms, started_at, seen_at FROM ${t} ORDER BY started_at`),
    };
  }

  /** Whether this process's row is committed (the hot path checks this instead of awaiting register()). */
  get recorded(): boolean {
    return this.timer !== undefined;
  }

  /** Record this process once (the first publish or subscribe waits for it); later calls return the same promise. */
  register(): Promise<void> {
    this.registering ??= this.writer
      .submit((ctx) => {
        this.s.add.run({ processId: this.processId, host: HOST, pid: process.pid, version: MISSIVE_VERSION, ...connectionSettings(this.db), now: ctx.now });
      })
      .then(
        () => {
          this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS).unref();
        },
        (err: unknown) => {
          // Not recorded (the file was locked, say): the publish or subscribe that waited fails with this error,
          // and the next one tries again. Kept, a failed first write would fail every later publish for good.
          this.registering = undefined;
          throw err;
        },
      );
    return this.registering;
  }

  /** Every recorded process, live or not, as of `now`. */
  read(now: number): ProcessRecord[] {
    return (this.s.all.all() as ProcessRow[]).map((row) => toRecord(row, now));
  }

  /** The transport is closing: stop heartbeating and queue the removal of the row (a failure leaves it to go stale). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.registering === undefined) return;
    void this.writer.submit(() => this.s.remove.run(this.processId)).catch((err: unknown) => this.context.log.debug({ err }, "sqlite: removing this process's row failed; it goes stale"));
  }

  private heartbeat(): Promise<void> {
    return this.writer.submit((ctx) => void this.s.seen.run(ctx.now, this.processId)).catch((err: unknown) => {
      // Missed for long enough, doctor reports this process as dead; the next heartbeat tries again.
      this.context.log.warn({ err }, "sqlite: a process heartbeat failed; the next one tries again");
    });
  }
}

interface ProcessRow {
  process_id: string;
  host: string;
  pid: number;
  missive_version: string;
  synchronous: string;
  journal_mode: string;
  busy_timeout_ms: number;
  started_at: number;
  seen_at: number;
}

function toRecord(row: ProcessRow, now: number): ProcessRecord {
  let dead: string | undefined;
  if (row.host === HOST && !pidRunning(row.pid)) dead = `pid ${row.pid} is not running on this host`;
  else if (row.seen_at < now - LIVE_MS) dead = `not seen for ${Math.round((now - row.seen_at) / 1000)} s`;
  return {
    processId: row.process_id,
    host: row.host,
    pid: row.pid,
    missiveVersion: row.missive_version,
    synchronous: row.synchronous,
    journalMode: row.journal_mode,
    busyTimeoutMs: row.busy_timeout_ms,
    startedAt: row.started_at,
    seenAt: row.seen_at,
    dead,
  };
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid exists but belongs to another user, so it is running.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

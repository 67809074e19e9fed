/**
 * Which consumers a group has, across every process on the file: each
 * subscription registers a row and one timer per transport refreshes
 * `seen_at`. A process that dies simply stops refreshing, so a consumer
 * counts as live while its row is fresher than LIVE_MS. The same rows tell
 * when a temporary group (a reply group, a `missive tail`) lost its process
 * to a SIGKILL: no consumer seen for ABANDONED_MS, and it is removed.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type Database from "better-sqlite3";
import { tableNames } from "./schema.js";
import type { WriteBatcher } from "./write-batcher.js";
import { silentContext } from "../../transport/context.js";
import type { TransportContext } from "../../transport/transport.js";

export const HEARTBEAT_MS = 5_000;
/** A consumer unseen for this long is gone (three missed heartbeats). */
export const LIVE_MS = 3 * HEARTBEAT_MS;
// Rows of processes long dead are removed when another consumer registers.
const FORGET_MS = 24 * 60 * 60 * 1000;
/** A temporary group with no consumer seen for this long is abandoned: far above any heartbeat stall. */
export const ABANDONED_MS = 10 * 60 * 1000;
const HOST = hostname().slice(0, 128);

type Stmt = Database.Statement<unknown[], unknown>;

export class ConsumerRegistry {
  private readonly ids = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly s: { add: Stmt; remove: Stmt; forget: Stmt; seen: Stmt; abandoned: Stmt; dropRows: Stmt; dropBindings: Stmt; dropGroup: Stmt };

  constructor(
    db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
    private readonly context: TransportContext = silentContext,
  ) {
    const names = tableNames(prefix);
    const t = names.consumers;
    this.s = {
      abandoned: db.prepare(
        `SELECT group_name FROM ${names.groups} g WHERE temporary = 1 AND created_at < @before
            AND NOT EXISTS (SELECT 1 FROM ${t} c WHERE c.group_name = g.group_name AND c.seen_at >= @before)`,
      ).pluck(),
      dropRows: db.prepare(`DELETE FROM ${names.queue} WHERE group_name = ?`),
      dropBindings: db.prepare(`DELETE FROM ${names.bindings} WHERE group_name = ? AND temporary = 1`),
      dropGroup: db.prepare(`DELETE FROM ${names.groups} WHERE group_name = ? AND temporary = 1`),
      add: db.prepare(`INSERT OR REPLACE INTO ${t} (consumer_id, group_name, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)`),
      remove: db.prepare(`DELETE FROM ${t} WHERE consumer_id = ?`),
      forget: db.prepare(`DELETE FROM ${t} WHERE seen_at < ?`),
      seen: db.prepare(`UPDATE ${t} SET seen_at = ? WHERE consumer_id = ?`),
    };
  }

  /** Register a consumer of `group`; resolves with its id once the row is committed. */
  async register(group: string): Promise<string> {
    const id = randomUUID();
    await this.writer.submit((ctx) => {
      this.s.forget.run(ctx.now - FORGET_MS);
      this.sweepAbandoned(ctx.now - ABANDONED_MS);
      this.s.add.run(id, group, HOST, process.pid, ctx.now, ctx.now);
    });
    this.ids.add(id);
    this.timer ??= setInterval(() => void this.heartbeat(), HEARTBEAT_MS).unref();
    return id;
  }

  /** Forget a consumer at once (its subscription closed). Best effort: a failure leaves a row that goes stale. */
  unregister(id: string): void {
    if (!this.ids.delete(id)) return;
    if (this.ids.size === 0) this.stopTimer();
    void this.writer.submit(() => this.s.remove.run(id)).catch((err: unknown) => this.context.log.debug({ err }, "sqlite: forgetting a consumer failed; its row goes stale"));
  }

  /** The transport is closing: stop heartbeating and queue the removal of its rows (best effort: left-behind rows go stale). */
  close(): void {
    this.stopTimer();
    const ids = [...this.ids];
    this.ids.clear();
    if (ids.length > 0) void this.writer.submit(() => ids.forEach((id) => this.s.remove.run(id))).catch((err: unknown) => this.context.log.debug({ err }, "sqlite: forgetting consumers at close failed; their rows go stale"));
  }

  private sweepAbandoned(before: number): void {
    for (const group of this.s.abandoned.all({ before }) as string[]) {
      this.s.dropRows.run(group);
      this.s.dropBindings.run(group);
      this.s.dropGroup.run(group);
    }
  }

  private heartbeat(): Promise<void> {
    const ids = [...this.ids];
    return this.writer.submit((ctx) => {
      for (const id of ids) this.s.seen.run(ctx.now, id);
    }).catch((err: unknown) => {
      // Missed for long enough, another process takes this one for dead and sweeps its temporary groups.
      this.context.log.warn({ err }, "sqlite: a consumer heartbeat failed; the next one tries again");
    });
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

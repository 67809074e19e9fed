/**
 * Which consumers a group has, across every process on the database: each
 * subscription registers a row and one timer per transport refreshes
 * `seen_at`. A process that dies simply stops refreshing, so a consumer
 * counts as live while its row is fresher than LIVE_MS.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Pool } from "pg";
import type { TransportContext } from "../../transport/transport.js";
import { NOW_MS, type PgTableNames } from "./schema.js";
import { query } from "./tx.js";

export const HEARTBEAT_MS = 5_000;
/** A consumer unseen for this long is gone (three missed heartbeats). */
export const LIVE_MS = 3 * HEARTBEAT_MS;
// Rows of processes long dead are removed when another consumer registers.
const FORGET_MS = 24 * 60 * 60 * 1000;
const HOST = hostname().slice(0, 128);
/** A temporary group with no consumer seen for this long is abandoned (its process was SIGKILLed): far above any heartbeat stall. */
export const ABANDONED_MS = 10 * 60 * 1000;

export class PgConsumers {
  private readonly ids = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly t: PgTableNames,
    private readonly context: TransportContext,
  ) {}

  async register(group: string): Promise<string> {
    const id = randomUUID();
    await query(this.pool, "registering a consumer", `INSERT INTO ${this.t.consumers} (consumer_id, group_name, host, pid) VALUES ($1, $2, $3, $4)`, [id, group, HOST, process.pid]);
    await query(this.pool, "forgetting dead consumers", `DELETE FROM ${this.t.consumers} WHERE seen_at < ${NOW_MS} - $1`, [FORGET_MS]);
    await this.sweepAbandoned();
    this.ids.add(id);
    if (!this.timer) {
      this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
      this.timer.unref();
    }
    return id;
  }

  /**
   * Remove temporary groups (a `missive tail`, a reply group) whose process died without closing them: older
   * than ABANDONED_MS and no consumer seen for as long. Their rows, bindings and consumer rows go with them.
   */
  private async sweepAbandoned(): Promise<void> {
    const t = this.t;
    await query(
      this.pool,
      "sweeping abandoned temporary groups",
      `WITH gone AS (
         DELETE FROM ${t.groups} g WHERE g.temporary AND g.created_at < ${NOW_MS} - $1
            AND NOT EXISTS (SELECT 1 FROM ${t.consumers} c WHERE c.group_name = g.group_name AND c.seen_at >= ${NOW_MS} - $1)
         RETURNING group_name),
       rows AS (DELETE FROM ${t.queue} q USING gone WHERE q.group_name = gone.group_name),
       bindings AS (DELETE FROM ${t.bindings} b USING gone WHERE b.group_name = gone.group_name AND b.temporary)
       DELETE FROM ${t.consumers} c USING gone WHERE c.group_name = gone.group_name`,
      [ABANDONED_MS],
    );
  }

  unregister(id: string): void {
    if (!this.ids.delete(id)) return;
    if (this.ids.size === 0) this.stopTimer();
    void query(this.pool, "unregistering a consumer", `DELETE FROM ${this.t.consumers} WHERE consumer_id = $1`, [id]).catch((err: unknown) =>
      this.context.log.debug({ err }, "postgres: removing a consumer row failed; it stops counting once its heartbeat is stale"),
    );
  }

  /** Remove every row of this transport (close), awaited so the pool can end after it. */
  async close(): Promise<void> {
    this.stopTimer();
    const ids = [...this.ids];
    this.ids.clear();
    if (ids.length === 0) return;
    await query(this.pool, "unregistering consumers", `DELETE FROM ${this.t.consumers} WHERE consumer_id = ANY($1::text[])`, [ids]).catch((err: unknown) =>
      this.context.log.debug({ err }, "postgres: removing consumer rows at close failed; they stop counting once their heartbeat is stale"),
    );
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async heartbeat(): Promise<void> {
    if (this.ids.size === 0) return;
    try {
      await query(this.pool, "consumer heartbeat", `UPDATE ${this.t.consumers} SET seen_at = ${NOW_MS} WHERE consumer_id = ANY($1::text[])`, [[...this.ids]]);
    } catch (err) {
      this.context.log.warn({ err }, "postgres: the consumer heartbeat failed; `missive queues` may count these consumers as gone until it succeeds");
    }
  }
}

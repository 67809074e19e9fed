/**
 * The wake-up of a publish made in the caller's transaction (`publishIn`),
 * sent once that transaction committed, from the transport's own pool.
 *
 * Why not `pg_notify` inside the caller's transaction, as before: NOTIFY
 * takes a database-wide lock at commit and holds it through the commit's WAL
 * flush, so every application transaction that published waited for the
 * flush of the one before it instead of sharing a flush with it (group
 * commit). That made an order INSERT + publishIn transaction 0.45x the same
 * transaction with a plain INSERT (bench/postgres-tx-publish.ts, 8 clients).
 *
 * How: the publish statement returns its transaction's id; this watcher asks
 * the server for the status of the ids it holds (`pg_xact_status`) a moment
 * later, and again with growing pauses while any is still in progress. The
 * same statement NOTIFYs the groups of the committed ones (its own commit
 * skips the WAL flush: a notification lost in a crash costs a poll, nothing
 * more); then this process's waiters on them are woken. Rolled-back ones
 * wake no one. One statement per look, whatever the number of transactions.
 * Consumers lose nothing when a wake-up is late or lost: they poll every
 * `pollMaxMs` as before.
 */
import type { Pool } from "pg";
import type { ContextSlot } from "../../transport/context.js";
import { query } from "./tx.js";

/** First look this long after a publish: the caller usually commits within a round trip or two. */
const FIRST_LOOK_MS = 2;
/** Longest pause between two looks at a transaction still open (a long one is polled at this rate). */
const MAX_PAUSE_MS = 50;
/** Transactions watched at most; beyond it the oldest are left to the consumers' polling (logged). */
const MAX_WATCHED = 10_000;

/**
 * $1: the watched transaction ids; $2, $3: (id, group) pairs; $4: the channel. Committed (or too old to know: NULL,
 * and waking costs one claim) transactions' groups are notified; set_config(…, true) lasts for this statement's own
 * transaction, whose commit then does not wait for the WAL flush, so it holds NOTIFY's lock only briefly.
 */
const LOOK_AND_WAKE = `WITH s AS MATERIALIZED (SELECT x, pg_xact_status(x) AS status FROM unnest($1::xid8[]) AS x),
     woken AS (SELECT DISTINCT w.g FROM unnest($2::xid8[], $3::text[]) AS w(x, g) JOIN s ON s.x = w.x
                WHERE s.status IS DISTINCT FROM 'in progress' AND s.status IS DISTINCT FROM 'aborted')
SELECT s.x::text AS xid, s.status,
       (SELECT count(pg_notify($4, g)) FROM woken WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL) AS notified
  FROM s`;

export class CommitWake {
  /** Transaction id (decimal xid8) → the groups its publishes wrote to. */
  private readonly watched = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private pauseMs = FIRST_LOOK_MS;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    /** Wakes this process's waiters on the groups. */
    private readonly announce: (groups: Iterable<string>) => void,
    private readonly context: ContextSlot,
    /** Prepared statement names' prefix (per table prefix, as transports on one pool may differ). */
    private readonly statementPrefix: string,
  ) {}

  /** Transaction `xid` (open) wrote rows to `groups`: wake them once it commits. */
  watch(xid: string, groups: Iterable<string>): void {
    if (this.stopped) return;
    let set = this.watched.get(xid);
    if (!set) {
      if (this.watched.size >= MAX_WATCHED) this.dropOldest();
      this.watched.set(xid, (set = new Set()));
    }
    for (const g of groups) set.add(g);
    // A new transaction to look at: look soon, even if the last looks found only open ones.
    this.pauseMs = FIRST_LOOK_MS;
    this.schedule();
  }

  /** Transport closing: no more looks; consumers of the transactions still open find their rows by polling. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private schedule(): void {
    if (this.timer || this.looking || this.stopped || this.watched.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.look();
    }, this.pauseMs);
    // Watching alone must not keep a process alive.
    this.timer.unref();
  }

  private async look(): Promise<void> {
    this.looking = true;
    const xids = [...this.watched.keys()];
    const pairs: { x: string[]; g: string[] } = { x: [], g: [] };
    for (const [xid, groups] of this.watched) {
      for (const g of groups) {
        pairs.x.push(xid);
        pairs.g.push(g);
      }
    }
    try {
      // One statement: the status of every watched transaction, and the NOTIFY of the groups of the committed ones.
      const { rows } = await query<{ xid: string; status: string | null }>(this.pool, "waking consumers after transactional publishes", LOOK_AND_WAKE, [xids, pairs.x, pairs.g, this.channel], `${this.statementPrefix}_look`);
      const wake = new Set<string>();
      for (const r of rows) {
        if (r.status === "in progress") continue;
        const groups = this.watched.get(r.xid);
        this.watched.delete(r.xid);
        if (groups && r.status !== "aborted") for (const g of groups) wake.add(g);
      }
      if (wake.size > 0) this.announce(wake);
      this.pauseMs = wake.size > 0 ? FIRST_LOOK_MS : Math.min(MAX_PAUSE_MS, this.pauseMs * 2);
    } catch (err) {
      // The server unreachable: the consumers' polling finds the rows; forget these rather than retry forever.
      this.context.log.warn({ err, transactions: xids.length }, "postgres: waking consumers after transactional publishes failed; they find the messages by polling");
      for (const xid of xids) this.watched.delete(xid);
    } finally {
      this.looking = false;
    }
    this.schedule();
  }

  private dropOldest(): void {
    const oldest = this.watched.keys().next();
    if (oldest.done === true) return;
    this.watched.delete(oldest.value);
    this.context.log.debug({ watched: MAX_WATCHED }, "postgres: too many open publishing transactions watched; the oldest is left to polling");
  }
}

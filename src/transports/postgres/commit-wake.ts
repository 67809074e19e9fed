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
 * the server for the status of the ids it holds (`pg_xact_status`, one
 * statement for all of them) a moment later, and again with growing pauses
 * while any is still in progress. For the committed ones it wakes their
 * groups: this process's waiters at once, other processes by one
 * `pg_notify` statement whose own commit skips the WAL flush (a notification
 * lost in a crash costs a poll, nothing more). Rolled-back ones wake no one.
 * Consumers lose nothing when a wake-up is late or lost: they poll every
 * `pollMaxMs` as before.
 */
import type { Pool } from "pg";
import type { ContextSlot } from "../../transport/context.js";
import { query } from "./tx.js";

/** First look this long after a publish: the caller usually commits within a round trip or two. */
const FIRST_LOOK_MS = 1;
/** Longest pause between two looks at a transaction still open (a long one is polled at this rate). */
const MAX_PAUSE_MS = 50;
/** Transactions watched at most; beyond it the oldest are left to the consumers' polling (logged). */
const MAX_WATCHED = 10_000;

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
    try {
      const { rows } = await query<{ xid: string; status: string | null }>(
        this.pool,
        "reading the status of publishing transactions",
        "SELECT x::text AS xid, pg_xact_status(x) AS status FROM unnest($1::xid8[]) AS x",
        [xids],
        `${this.statementPrefix}_xact`,
      );
      const wake = new Set<string>();
      for (const r of rows) {
        if (r.status === "in progress") continue;
        const groups = this.watched.get(r.xid);
        this.watched.delete(r.xid);
        // NULL: too old to know (wraparound); waking costs one claim, so wake.
        if (groups && r.status !== "aborted") for (const g of groups) wake.add(g);
      }
      this.pauseMs = wake.size > 0 || rows.length < xids.length ? FIRST_LOOK_MS : Math.min(MAX_PAUSE_MS, this.pauseMs * 2);
      if (wake.size > 0) await this.wake([...wake]);
    } catch (err) {
      // The server unreachable: the consumers' polling finds the rows; forget these rather than retry forever.
      this.context.log.warn({ err, transactions: xids.length }, "postgres: waking consumers after transactional publishes failed; they find the messages by polling");
      for (const xid of xids) this.watched.delete(xid);
    } finally {
      this.looking = false;
    }
    this.schedule();
  }

  private async wake(groups: string[]): Promise<void> {
    this.announce(groups);
    // set_config(…, true) lasts for this statement's own transaction: its commit does not wait for the WAL flush,
    // so it holds NOTIFY's lock only briefly.
    await query(
      this.pool,
      "waking consumers",
      "SELECT set_config('synchronous_commit', 'off', true), count(pg_notify($1, g)) FROM unnest($2::text[]) AS g",
      [this.channel, groups],
      `${this.statementPrefix}_wake`,
    );
  }

  private dropOldest(): void {
    const oldest = this.watched.keys().next();
    if (oldest.done === true) return;
    this.watched.delete(oldest.value);
    this.context.log.debug({ watched: MAX_WATCHED }, "postgres: too many open publishing transactions watched; the oldest is left to polling");
  }
}

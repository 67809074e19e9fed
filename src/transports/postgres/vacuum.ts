/**
 * The queue table vacuumed by its consumers: after every `every` rows this
 * transport deleted (acks), one `VACUUM (SKIP_LOCKED)` of the queue table, in
 * the background, one at a time.
 *
 * Why: every message leaves dead row versions (its insert, its claim, its
 * delete), and autovacuum looks at a table at most once per
 * `autovacuum_naptime` (1 min by default, a server setting the table cannot
 * override). A busy queue appends a minute of row versions before the free
 * space is found again; vacuuming by the count of rows deleted keeps the
 * table near its live size whatever the server's settings
 * (bench/postgres-churn.ts). SKIP_LOCKED: a vacuum already running (another
 * transport's, autovacuum's) is enough. A role that does not own the table
 * gets a warning from the server and nothing happens, as with autovacuum off.
 */
import type { Pool } from "pg";
import type { ContextSlot } from "../../transport/context.js";
import { query } from "./tx.js";

export class QueueVacuum {
  private deleted = 0;
  private running = false;

  constructor(
    private readonly pool: Pool,
    private readonly table: string,
    private readonly every: number,
    private readonly context: ContextSlot,
  ) {}

  /** `n` rows of the queue were deleted by this transport. */
  deletedRows(n: number): void {
    if (this.every === 0 || n === 0) return;
    this.deleted += n;
    if (this.deleted < this.every || this.running) return;
    this.deleted = 0;
    this.running = true;
    void query(this.pool, "vacuuming the queue table", `VACUUM (SKIP_LOCKED) ${this.table}`)
      .catch((err: unknown) => this.context.log.warn({ err, table: this.table }, "postgres: vacuuming the queue table failed; autovacuum still runs"))
      .finally(() => {
        this.running = false;
      });
  }
}

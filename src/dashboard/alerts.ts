/**
 * Dead-letter alerts on the page: "the first dead letter is normal; 1,000 in
 * 5 minutes is an incident". Two thresholds, both optional: how many dead
 * letters there are (summed over the groups `stats()` reports), and how many
 * more there are than at the lowest point of the last 5 minutes (a burst).
 * Judged on each snapshot of the one poll loop, so only while a page is
 * open: a banner for the people watching, not a pager.
 */
import { ConfigurationError } from "../errors.js";
import type { QueueStats } from "../transport/transport.js";

export interface AlertOptions {
  /** Alert when the dead letters of all groups add up to at least this. Default: no such alert. */
  readonly deadLetters?: number;
  /** Alert when at least this many more dead letters came within 5 minutes. Default: no such alert. */
  readonly deadLettersPer5m?: number;
}

export interface Alert {
  readonly kind: "dead-letters" | "dead-letter-rate";
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
}

const WINDOW_MS = 5 * 60_000;

export class AlertWatch {
  private readonly history: { at: number; total: number }[] = [];
  private readonly total: number | undefined;
  private readonly rate: number | undefined;

  constructor(options: AlertOptions = {}) {
    this.total = threshold(options.deadLetters, "alerts.deadLetters");
    this.rate = threshold(options.deadLettersPer5m, "alerts.deadLettersPer5m");
  }

  /** The alerts a snapshot raises; `groups` undefined (no stats) raises none. */
  evaluate(groups: readonly QueueStats[] | undefined, now: number): Alert[] {
    if (groups === undefined || (this.total === undefined && this.rate === undefined)) return [];
    const total = groups.reduce((sum, g) => sum + (g.deadLetters ?? 0), 0);
    this.history.push({ at: now, total });
    while (this.history.length > 0 && this.history[0]!.at < now - WINDOW_MS) this.history.shift();
    const alerts: Alert[] = [];
    if (this.total !== undefined && total >= this.total) {
      alerts.push({ kind: "dead-letters", value: total, threshold: this.total, message: `${total} dead letters (alert at ${this.total})` });
    }
    if (this.rate !== undefined) {
      // Against the lowest point of the window: a replay that empties the store does not hide a burst that follows it.
      const lowest = Math.min(...this.history.map((h) => h.total));
      const rise = total - lowest;
      if (rise >= this.rate) alerts.push({ kind: "dead-letter-rate", value: rise, threshold: this.rate, message: `${rise} more dead letters within 5 minutes (alert at ${this.rate})` });
    }
    return alerts;
  }
}

function threshold(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigurationError(`${what} must be a whole number of at least 1, got ${String(value)}`);
  return value;
}

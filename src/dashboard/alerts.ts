/**
 * Dead-letter alerts on the page: "the first dead letter is normal; 1,000 in
 * 5 minutes is an incident". Two thresholds, both optional: how many dead
 * letters there are (summed over the groups `stats()` reports), and how many
 * more there are than at the lowest point of a window (a burst; 5 minutes
 * unless `deadLetterRate` says otherwise: `--dlq-alert 1000/5m`).
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
  /** Alert when at least `count` more dead letters came within `withinMs` (wins over `deadLettersPer5m`). Default: no such alert. */
  readonly deadLetterRate?: { readonly count: number; readonly withinMs: number };
}

export interface Alert {
  readonly kind: "dead-letters" | "dead-letter-rate";
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
}

const WINDOW_MS = 5 * 60_000;
const MAX_WINDOW_MS = 24 * 3_600_000;

export class AlertWatch {
  private readonly history: { at: number; total: number }[] = [];
  private readonly total: number | undefined;
  private readonly rate: number | undefined;
  private readonly windowMs: number;

  constructor(options: AlertOptions = {}) {
    this.total = threshold(options.deadLetters, "alerts.deadLetters");
    const r = options.deadLetterRate;
    if (r !== undefined && (!Number.isSafeInteger(r.withinMs) || r.withinMs < 1000 || r.withinMs > MAX_WINDOW_MS)) {
      throw new ConfigurationError(`alerts.deadLetterRate.withinMs must be from 1 s to 24 h, got ${String(r.withinMs)}`);
    }
    this.rate = r === undefined ? threshold(options.deadLettersPer5m, "alerts.deadLettersPer5m") : threshold(r.count, "alerts.deadLetterRate.count");
    this.windowMs = r?.withinMs ?? WINDOW_MS;
  }

  /** The alerts a snapshot raises; `groups` undefined (no stats) raises none. */
  evaluate(groups: readonly QueueStats[] | undefined, now: number): Alert[] {
    if (groups === undefined || (this.total === undefined && this.rate === undefined)) return [];
    const total = groups.reduce((sum, g) => sum + (g.deadLetters ?? 0), 0);
    this.history.push({ at: now, total });
    while (this.history.length > 0 && this.history[0]!.at < now - this.windowMs) this.history.shift();
    const alerts: Alert[] = [];
    if (this.total !== undefined && total >= this.total) {
      alerts.push({ kind: "dead-letters", value: total, threshold: this.total, message: `${total} dead letters (alert at ${this.total})` });
    }
    if (this.rate !== undefined) {
      // Against the lowest point of the window: a replay that empties the store does not hide a burst that follows it.
      const lowest = Math.min(...this.history.map((h) => h.total));
      const rise = total - lowest;
      if (rise >= this.rate) alerts.push({ kind: "dead-letter-rate", value: rise, threshold: this.rate, message: `${rise} more dead letters within ${windowText(this.windowMs)} (alert at ${this.rate})` });
    }
    return alerts;
  }
}

function threshold(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigurationError(`${what} must be a whole number of at least 1, got ${String(value)}`);
  return value;
}

function windowText(ms: number): string {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? "1 hour" : `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return ms === 60_000 ? "1 minute" : `${ms / 60_000} minutes`;
  return `${Math.round(ms / 1000)} seconds`;
}

/** `--dlq-alert`: `1000` (a total) or `1000/5m` (a rise within a window). */
export function parseDeadLetterAlert(text: string): Pick<AlertOptions, "deadLetters" | "deadLetterRate"> {
  const m = /^\s*(\d{1,10})\s*(?:\/\s*(\d+(?:\.\d+)?)(s|m|h))?\s*$/.exec(text);
  if (!m) throw new ConfigurationError(`a dead-letter alert is a count (1000) or a count within a window (1000/5m), got ${JSON.stringify(text.slice(0, 40))}`);
  const count = Number(m[1]);
  if (m[2] === undefined) return { deadLetters: count };
  const unit = m[3] === "s" ? 1000 : m[3] === "m" ? 60_000 : 3_600_000;
  return { deadLetterRate: { count, withinMs: Math.round(Number(m[2]) * unit) } };
}

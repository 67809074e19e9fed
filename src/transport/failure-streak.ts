/**
 * A loop that keeps failing (a consumer that cannot consume, a connection
 * that cannot reconnect, a poll that cannot claim) must be seen without
 * flooding the log: the first failure is logged (warn, or error when the
 * cause will not go away by itself) and reported, later ones only every
 * `logEveryMs` (at debug in between), and the first success after a streak
 * is logged and reported as a recovery.
 */
import type { TransportContext, TransportEvent } from "./transport.js";
import { reasonOf } from "./context.js";

export interface FailureStreakOptions {
  /** What is failing, for the log lines ("rabbitmq consumer", "sqlite claim"). */
  readonly what: string;
  /** Fields added to every log line (group, queue). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** The event to report when the streak starts (`failing`) and ends (`recovered`); none when omitted. */
  readonly event?: (state: "failing" | "recovered", reason: string | undefined) => TransportEvent | undefined;
  /** Least time between two log lines at warn/error during one streak, ms. Default 30 000. */
  readonly logEveryMs?: number;
  readonly now?: () => number;
}

export class FailureStreak {
  private failures = 0;
  private lastLoggedAt = 0;
  private lastReason: string | undefined;

  constructor(
    private readonly context: TransportContext,
    private readonly options: FailureStreakOptions,
  ) {}

  /** Whether the loop is in a streak of failures. */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** One more failure; `fatal`: the cause needs an operator (a deleted queue, a revoked permission). */
  fail(err: unknown, fatal = false): void {
    const now = (this.options.now ?? Date.now)();
    const reason = reasonOf(err);
    this.failures++;
    const first = this.failures === 1;
    const fields = { ...this.options.fields, err, failures: this.failures };
    // A new reason is news even mid-streak (the queue came back but the permission went).
    if (first || reason !== this.lastReason || now - this.lastLoggedAt >= (this.options.logEveryMs ?? 30_000)) {
      this.lastLoggedAt = now;
      const msg = `${this.options.what} failed${first ? "" : ` (${this.failures} times in a row)`}; retrying`;
      if (fatal) this.context.log.error(fields, msg);
      else this.context.log.warn(fields, msg);
    } else {
      this.context.log.debug(fields, `${this.options.what} failed again; retrying`);
    }
    if (first || reason !== this.lastReason) {
      const event = this.options.event?.("failing", reason);
      if (event) this.context.report(event);
    }
    this.lastReason = reason;
  }

  /** A success: ends a streak (logged and reported), a no-op otherwise. */
  ok(): void {
    if (this.failures === 0) return;
    this.context.log.info({ ...this.options.fields, failures: this.failures }, `${this.options.what} works again`);
    this.failures = 0;
    this.lastReason = undefined;
    this.lastLoggedAt = 0;
    const event = this.options.event?.("recovered", undefined);
    if (event) this.context.report(event);
  }
}

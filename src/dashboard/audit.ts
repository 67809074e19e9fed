/**
 * The audit trail: who did what to the dead letters, when, and to how many.
 * Kept in memory (the newest `keep` records, shown on the page) and, when a
 * file is given, appended to it as one JSON line per record, never rewritten:
 * the file is the record an incident review reads afterwards.
 */
import { appendFile } from "node:fs/promises";
import type { Logger } from "../observability/logger.js";

export interface AuditRecord {
  /** ISO time the action was recorded (when it ended, for a replay or discard). */
  readonly at: string;
  /** The token's label, or `local` when no token is set. */
  readonly who: string;
  readonly action: "replay" | "discard" | "dry-run-replay" | "dry-run-discard" | "edit" | "dry-run-edit";
  /** What was asked for, as the operator chose it: entry ids or a filter. */
  readonly target: Readonly<Record<string, unknown>>;
  /** Entries that matched when the action started. */
  readonly matched: number;
  /** Entries replayed or discarded (0 for a dry run). */
  readonly done: number;
  /** `completed`, `stopped` (cancelled part-way) or `failed: <reason>`. */
  readonly outcome: string;
}

export class AuditTrail {
  private readonly records: AuditRecord[] = [];
  private readonly listeners = new Set<(record: AuditRecord) => void>();

  constructor(
    private readonly file: string | undefined,
    private readonly logger: Logger,
    private readonly keep = 500,
  ) {}

  /** Record it; resolves once it is in the file too (a failed append is logged at error level, the record stays in memory). */
  async record(record: AuditRecord): Promise<void> {
    this.records.push(record);
    if (this.records.length > this.keep) this.records.shift();
    for (const listener of this.listeners) listener(record);
    if (this.file === undefined) return;
    try {
      await appendFile(this.file, `${JSON.stringify(record)}\n`, { encoding: "utf8", mode: 0o600 });
    } catch (err) {
      this.logger.error({ err, file: this.file }, "dashboard: appending to the audit file failed; the record is kept in memory only");
    }
  }

  /** Newest first. */
  list(): AuditRecord[] {
    return [...this.records].reverse();
  }

  onRecord(listener: (record: AuditRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Safe redrive: replay or discard one dead letter, a selection, a failure
 * group or a whole filter, with a dry run that says what would move where,
 * replays paced by a token bucket (a replayed backlog must not flood the
 * consumers that just recovered), progress reported while it runs, and every
 * action (dry runs included) in the audit trail.
 *
 * The work goes through the dead-letter admin (replay keeps the message id,
 * so an inbox still deduplicates; at-least-once, docs/contract.md §6). A run
 * fixes its end time when it starts: an entry that fails again meanwhile is
 * not picked up twice, and the run always ends.
 */
import { randomUUID } from "node:crypto";
import type { DeadLetterAdmin, DeadLetterEntry } from "../runtime/dead-letter-admin.js";
import type { Logger } from "../observability/logger.js";
import { TokenBucket } from "../runtime/token-bucket.js";
import type { AuditRecord, AuditTrail } from "./audit.js";
import { DashboardRequestError } from "./request-error.js";
import { scan, selectorFromJson, type Selector } from "./selection.js";

export type RedriveAction = "replay" | "discard";

/** One dead letter, a selection of them (by entry id), or every entry a filter matches. */
export type RedriveTarget = { readonly ids: readonly string[] } | { readonly filter: Readonly<Record<string, string>> };

/** Most entry ids one request may name; beyond that, select by filter. */
export const MAX_IDS = 1000;

export interface DryRun {
  readonly action: RedriveAction;
  /** Entries that would be replayed or discarded. */
  readonly matched: number;
  /** Where they would go: per consumer group and type, how many. */
  readonly moves: ReadonlyArray<{ readonly group: string; readonly type: string; readonly count: number }>;
}

export interface Progress {
  readonly job: string;
  readonly action: RedriveAction;
  readonly done: number;
  readonly total: number;
  /** Set once the job ended: `completed` or `failed: <reason>`. */
  readonly outcome: string | undefined;
}

export class Redriver {
  private readonly bucket: TokenBucket;
  private readonly listeners = new Set<(p: Progress) => void>();
  /** Entries per store call: at most a bucketful, so pacing is smooth. */
  private readonly chunk: number;

  constructor(
    private readonly admin: DeadLetterAdmin,
    private readonly audit: AuditTrail,
    private readonly logger: Logger,
    rate: { perSecond: number; burst?: number },
  ) {
    this.bucket = new TokenBucket(rate);
    this.chunk = Math.max(1, Math.min(100, this.bucket.burst));
  }

  onProgress(listener: (p: Progress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async dryRun(action: RedriveAction, target: RedriveTarget, who: string): Promise<DryRun> {
    const moves = new Map<string, { group: string; type: string; count: number }>();
    let matched = 0;
    for await (const entries of this.entriesOf(target, Date.now())) {
      for (const e of entries) {
        matched++;
        const key = JSON.stringify([e.group, e.topic]);
        const m = moves.get(key) ?? { group: e.group, type: e.topic, count: 0 };
        m.count++;
        moves.set(key, m);
      }
    }
    const result = { action, matched, moves: [...moves.values()].sort((a, b) => b.count - a.count) };
    await this.audit.record(this.auditRecord(`dry-run-${action}`, target, who, matched, 0, "completed"));
    return result;
  }

  /** Start a run; it goes on in the background, reporting progress. Resolves with its job id and how many it will act on. */
  async start(action: RedriveAction, target: RedriveTarget, who: string): Promise<{ job: string; total: number }> {
    const job = randomUUID();
    const until = Date.now();
    // Counted first, so progress has a total; entries added meanwhile are outside `until`.
    let total = 0;
    for await (const entries of this.entriesOf(target, until)) total += entries.length;
    void this.run(job, action, target, who, until, total);
    return { job, total };
  }

  private async run(job: string, action: RedriveAction, target: RedriveTarget, who: string, until: number, total: number): Promise<void> {
    let done = 0;
    let outcome = "completed";
    this.emit({ job, action, done, total, outcome: undefined });
    try {
      for await (const entries of this.entriesOf(target, until)) {
        for (let i = 0; i < entries.length; i += this.chunk) {
          const ids = entries.slice(i, i + this.chunk).map((e) => e.entryId);
          if (action === "replay") await this.bucket.take(ids.length);
          done += action === "replay" ? await this.admin.replay(ids) : await this.admin.discard(ids);
          this.emit({ job, action, done, total, outcome: undefined });
        }
      }
    } catch (err) {
      outcome = `failed: ${err instanceof Error ? err.message : String(err)}`;
      this.logger.error({ err, job, action, done, total }, "dashboard: a redrive failed part-way; what was done stays done");
    }
    this.emit({ job, action, done, total, outcome });
    await this.audit.record(this.auditRecord(action, target, who, total, done, outcome));
  }

  /** The target's entries, in store order, a page at a time. */
  private async *entriesOf(target: RedriveTarget, until: number): AsyncGenerator<DeadLetterEntry[]> {
    if ("ids" in target) {
      const found: DeadLetterEntry[] = [];
      for (const id of new Set(target.ids)) {
        const entry = await this.admin.get(id);
        if (entry !== undefined && entry.deadLetteredAt <= until) found.push(entry);
      }
      yield found;
      return;
    }
    const selector: Selector = selectorFromJson(target.filter);
    // Replaying removes entries from the store; the cursor moves past them by id, so nothing is skipped or seen twice.
    for await (const page of scan(this.admin, selector, { until })) yield page.matches;
  }

  private emit(p: Progress): void {
    for (const listener of this.listeners) listener(p);
  }

  private auditRecord(action: AuditRecord["action"], target: RedriveTarget, who: string, matched: number, done: number, outcome: string): AuditRecord {
    const what = "ids" in target ? { ids: [...target.ids] } : { filter: { ...target.filter } };
    return { at: new Date().toISOString(), who, action, target: what, matched, done, outcome };
  }
}

/** The action and target of a POST body, checked; DashboardRequestError (400) when it is not one. */
export function redriveRequestOf(body: unknown): { action: RedriveAction; target: RedriveTarget; dryRun: boolean } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new DashboardRequestError(400, "the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const action = b["action"];
  if (action !== "replay" && action !== "discard") throw new DashboardRequestError(400, "action must be replay or discard");
  const dryRun = b["dryRun"] === true;
  if (b["dryRun"] !== undefined && typeof b["dryRun"] !== "boolean") throw new DashboardRequestError(400, "dryRun must be a boolean");
  const ids = b["ids"];
  const filter = b["filter"];
  if ((ids === undefined) === (filter === undefined)) throw new DashboardRequestError(400, "give ids or filter, exactly one");
  if (ids !== undefined) {
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || !ids.every((i) => typeof i === "string" && i.length > 0 && i.length <= 200)) {
      throw new DashboardRequestError(400, `ids must be 1 to ${MAX_IDS} entry ids`);
    }
    return { action, target: { ids: ids as string[] }, dryRun };
  }
  // Checked now, so a bad filter is a 400 before anything runs.
  selectorFromJson(filter);
  return { action, target: { filter: filter as Record<string, string> }, dryRun };
}

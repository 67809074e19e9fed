/**
 * The service reports behind the page's charts and panels: read through the
 * transport's ServiceReporting ability on each poll of the live feed (only
 * what came since the last read, with an overlap for appends that land
 * late), kept for the chart window, and folded into the view the page draws
 * (service-view.ts).
 */
import type { Logger } from "../observability/logger.js";
import { redact } from "../redact.js";
import type { ServiceLevel, ServiceReport } from "../transport/service-report.js";
import { servicesView, type ServicesView } from "./service-view.js";

export interface ServicesSnapshot {
  /** `false` when the transport keeps no service reports. */
  readonly available: boolean;
  /** Why the last read failed, redacted. */
  readonly error: string | undefined;
  readonly view: ServicesView | undefined;
}

/** A report appended this long before the newest one seen may still arrive after it (several processes, one channel). */
const OVERLAP_MS = 30_000;

export class ServiceFeed {
  private reports: ServiceReport[] = [];
  private readonly seen = new Set<string>();
  private newest = 0;

  constructor(
    private readonly read: ((sinceMs: number) => Promise<ServiceReport[]>) | undefined,
    private readonly levels: ReadonlyMap<string, ServiceLevel>,
    private readonly windowMs: number,
    private readonly logger: Logger,
  ) {}

  async snapshot(now = Date.now()): Promise<ServicesSnapshot> {
    if (this.read === undefined) return { available: false, error: undefined, view: undefined };
    let error: string | undefined;
    try {
      this.take(await this.read(Math.max(this.newest - OVERLAP_MS, now - this.windowMs)), now);
    } catch (err) {
      error = redact(err instanceof Error ? err.message : String(err));
      this.logger.warn({ error }, "dashboard: reading the service reports failed; the page shows the error and the next poll tries again");
    }
    return { available: true, error, view: servicesView(this.reports, this.levels, this.windowMs, now) };
  }

  private take(fresh: readonly ServiceReport[], now: number): void {
    for (const r of fresh) {
      const id = `${r.reporter}\u0000${r.at}`;
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      this.reports.push(r);
      if (r.at > this.newest) this.newest = r.at;
    }
    const before = now - this.windowMs;
    if (this.reports.length > 0 && this.reports[0]!.at < before) {
      this.reports = this.reports.filter((r) => r.at >= before);
      for (const id of this.seen) if (Number(id.slice(id.indexOf("\u0000") + 1)) < before - OVERLAP_MS) this.seen.delete(id);
    }
    this.reports.sort((a, b) => a.at - b.at);
  }
}

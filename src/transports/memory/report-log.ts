/**
 * The memory broker's service reports (service-report.ts): kept in order for
 * REPORT_RETENTION_MS, each stored as its JSON text and checked when read
 * back, as a report crossing a real broker would be.
 */
import { REPORT_RETENTION_MS } from "../../transport/abilities.js";
import { serviceReportOf, type ServiceReport } from "../../transport/service-report.js";

export class ReportLog {
  private readonly entries: { at: number; json: string }[] = [];

  append(report: ServiceReport): void {
    this.entries.push({ at: report.at, json: JSON.stringify(report) });
    const before = Date.now() - REPORT_RETENTION_MS;
    while (this.entries.length > 0 && this.entries[0]!.at < before) this.entries.shift();
  }

  since(sinceMs: number): ServiceReport[] {
    const out: ServiceReport[] = [];
    for (const e of this.entries) {
      if (e.at < sinceMs) continue;
      const report = serviceReportOf(JSON.parse(e.json));
      if (report !== undefined) out.push(report);
    }
    return out.sort((a, b) => a.at - b.at);
  }
}

/**
 * Service reports (service-report.ts) on a SQLite file: one row per report
 * in the `service_reports` table, beside the consumer and process rows the
 * file already keeps for `missive queues` and `doctor`. Written through the
 * transport's write batcher (one short insert per service per interval);
 * rows older than REPORT_RETENTION_MS are deleted by the writes after them.
 */
import type Database from "better-sqlite3";
import { REPORT_RETENTION_MS } from "../../transport/abilities.js";
import { serviceReportOf, type ServiceReport } from "../../transport/service-report.js";
import { tableNames } from "./schema.js";
import type { WriteBatcher } from "./write-batcher.js";

type Stmt = Database.Statement<unknown[], unknown>;

export class ServiceReportTable {
  private readonly s: { add: Stmt; prune: Stmt; since: Stmt };

  constructor(
    db: Database.Database,
    prefix: string,
    private readonly writer: WriteBatcher,
  ) {
    const t = tableNames(prefix).reports;
    this.s = {
      add: db.prepare(`INSERT INTO ${t} (at, reporter, report) VALUES (?, ?, ?)`),
      prune: db.prepare(`DELETE FROM ${t} WHERE at < ?`),
      since: db.prepare(`SELECT report FROM ${t} WHERE at >= ? ORDER BY at, id`).pluck(),
    };
  }

  async write(report: ServiceReport): Promise<void> {
    const json = JSON.stringify(report);
    await this.writer.submit((ctx) => {
      this.s.prune.run(ctx.now - REPORT_RETENTION_MS);
      this.s.add.run(report.at, report.reporter, json);
    });
  }

  /** Rows are written by every process on the file: each is checked, a malformed one skipped. */
  read(sinceMs: number): ServiceReport[] {
    const out: ServiceReport[] = [];
    for (const text of this.s.since.all(sinceMs) as string[]) {
      const report = parsed(text);
      if (report !== undefined) out.push(report);
    }
    return out;
  }
}

function parsed(text: string): ServiceReport | undefined {
  try {
    return serviceReportOf(JSON.parse(text));
  } catch {
    return undefined; // not JSON: written by something other than missive, skipped like any malformed report
  }
}

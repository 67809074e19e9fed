/**
 * Service reports (service-report.ts) on PostgreSQL: one row per report in
 * the `service_reports` table, beside the consumer rows the transport
 * already keeps for `missive queues`. A write deletes the rows older than
 * REPORT_RETENTION_MS first (an index range), so the table stays small.
 */
import type { Pool } from "pg";
import { REPORT_RETENTION_MS } from "../../transport/abilities.js";
import { serviceReportOf, type ServiceReport } from "../../transport/service-report.js";
import type { PgTableNames } from "./schema.js";
import { query } from "./tx.js";

export class PgServiceReports {
  constructor(
    private readonly pool: Pool,
    private readonly tables: PgTableNames,
  ) {}

  async write(report: ServiceReport): Promise<void> {
    const t = this.tables.reports;
    await query(this.pool, "writing a service report", `WITH gone AS (DELETE FROM ${t} WHERE at < $1) INSERT INTO ${t} (at, reporter, report) VALUES ($2, $3, $4)`, [
      report.at - REPORT_RETENTION_MS, report.at, report.reporter, JSON.stringify(report),
    ]);
  }

  /** Rows are written by every process on the database: each is checked, a malformed one skipped. */
  async read(sinceMs: number): Promise<ServiceReport[]> {
    const { rows } = await query<{ report: string }>(this.pool, "reading service reports", `SELECT report FROM ${this.tables.reports} WHERE at >= $1 ORDER BY at, id`, [sinceMs]);
    const out: ServiceReport[] = [];
    for (const row of rows) {
      const report = parsed(row.report);
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

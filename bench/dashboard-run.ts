/**
 * The dashboard's row (`--only dashboard`): a SQLite dead-letter store of
 * 1,000,000 entries (5,000 with --quick) written by one child, then opened
 * and served by another whose RSS is the dashboard's; the times of a page,
 * a group summary and `GET api/groups` (bench/cases/dashboard.ts). The
 * row's msgs_per_s is the rate the store was written at; p50_ms is a page,
 * p99_ms the slowest of the operator's reads after the first look.
 */
import { join } from "node:path";
import type { BenchConfig } from "./lib/args.js";
import { runChild } from "./lib/child.js";
import { emptyRow, round2, type Row } from "./lib/results.js";
import type { DashboardFigures } from "./cases/dashboard.js";

export async function dashboardRows(cfg: BenchConfig, inTempDir: <T>(fn: (dir: string) => Promise<T>) => Promise<T>, log: (line: string) => void, caseTimeoutMs: number): Promise<Row[]> {
  const entries = cfg.quick ? 5_000 : 1_000_000;
  return inTempDir(async (dir) => {
    const params = { path: join(dir, "dashboard.db"), entries };
    log(`dashboard: writing a ${entries}-entry SQLite dead-letter store…`);
    // Writing a million rows takes minutes on a loaded machine: its own, longer, budget.
    const { fillMs } = await runChild<{ fillMs: number }>("dashboard-fill", params, caseTimeoutMs * 4);
    log("dashboard: serving it, timing a page, a group summary and api/groups…");
    const f = await runChild<DashboardFigures>("dashboard-serve", params, caseTimeoutMs * 4);
    const row = emptyRow("sqlite", `dashboard, ${entries}-entry dead-letter store: a page, a group summary, api/groups (server RSS)`);
    row.msgs_per_s = Math.round(entries / (fillMs / 1000));
    row.p50_ms = round2(f.pageMs);
    row.p99_ms = round2(Math.max(f.summaryMs, f.pageMs, f.filteredPageMs, f.apiGroupsMs, f.apiGroupPageMs));
    row.rss_mb = f.peakRssMb;
    row.notes = {
      entries,
      fill_ms: Math.round(fillMs),
      first_summary_with_indexing_ms: round2(f.firstSummaryMs),
      group_summary_ms: round2(f.summaryMs),
      page_ms: round2(f.pageMs),
      group_type_page_ms: round2(f.filteredPageMs),
      api_groups_ms: round2(f.apiGroupsMs),
      api_failure_group_page_ms: round2(f.apiGroupPageMs),
      failure_groups: f.groups,
      entries_counted: f.counted,
    };
    if (f.counted !== entries) throw new Error(`dashboard: the failure groups counted ${f.counted} of ${entries} entries`);
    return [row];
  });
}

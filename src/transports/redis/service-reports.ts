/**
 * Service reports (service-report.ts) on Redis: one entry per report, its
 * JSON in one field, in the `<prefix>status` stream, capped by XADD's
 * `MAXLEN ~` so the server trims whole nodes as it goes and the stream
 * never holds much more than STATUS_MAX_ENTRIES (at a report per service
 * every 10 s, REPORT_RETENTION_MS of reports from about 160 services).
 *
 * The entry id is the server's clock; a report's `at` is its reporter's.
 * A read starts a margin before `sinceMs` and keeps the reports whose own
 * time is in range, page by page.
 */
import type { Redis } from "ioredis";
import { serviceReportOf, type ServiceReport } from "../../transport/service-report.js";
import type { RedisNames } from "./names.js";

/** The stream's cap (approximate: Redis trims whole radix-tree nodes). */
export const STATUS_MAX_ENTRIES = 10_000;
/** A reporter's clock this far behind the server's still finds its reports. */
const CLOCK_MARGIN_MS = 60_000;
const PAGE = 500;
const REPORT_FIELD = "report";

export class RedisServiceReports {
  constructor(
    private readonly redis: () => Promise<Redis>,
    private readonly names: RedisNames,
  ) {}

  async write(report: ServiceReport): Promise<void> {
    const redis = await this.redis();
    await redis.xadd(this.names.status(), "MAXLEN", "~", STATUS_MAX_ENTRIES, "*", REPORT_FIELD, JSON.stringify(report));
  }

  /** Entries are written by every process on the server: each is checked, a malformed one skipped. */
  async read(sinceMs: number): Promise<ServiceReport[]> {
    const redis = await this.redis();
    const out: ServiceReport[] = [];
    let from = String(Math.max(0, sinceMs - CLOCK_MARGIN_MS));
    for (;;) {
      const page = await redis.xrange(this.names.status(), from, "+", "COUNT", PAGE);
      for (const [, fields] of page) {
        const report = parsed(fieldOf(fields, REPORT_FIELD));
        if (report !== undefined && report.at >= sinceMs) out.push(report);
      }
      if (page.length < PAGE) break;
      from = `(${page[page.length - 1]![0]}`;
    }
    return out.sort((a, b) => a.at - b.at);
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function parsed(text: string | undefined): ServiceReport | undefined {
  if (text === undefined) return undefined;
  try {
    return serviceReportOf(JSON.parse(text));
  } catch {
    return undefined; // not JSON: written by something other than missive, skipped like any malformed report
  }
}

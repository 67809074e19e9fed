/**
 * Service reports (service-report.ts) on RabbitMQ: appended to the
 * `missive.status` stream beside the status reports and process records
 * (kind `service`), on a confirm channel of their own, and read back from
 * it (the stream keeps 10 minutes). Nothing new to declare or to grant.
 */
import { serviceReportOf, type ServiceReport } from "../../transport/service-report.js";
import type { AmqpSession } from "./session.js";
import { readRecentStatusRecords } from "./status-reader.js";
import { StatusStreamWriter } from "./status-stream-writer.js";

export class ServiceReportStream {
  private writer: StatusStreamWriter | undefined;

  constructor(
    private readonly session: AmqpSession,
    private readonly declare: boolean,
  ) {}

  /** Made on the first report: a process that never reports opens no channel for it. */
  async write(report: ServiceReport): Promise<void> {
    this.writer ??= new StatusStreamWriter(this.session, this.declare);
    await this.writer.write([report]);
  }

  /** Reports from `sinceMs` on; the broker starts a little earlier (at a chunk), the rest is filtered here. */
  async read(sinceMs: number): Promise<ServiceReport[]> {
    const out: ServiceReport[] = [];
    await readRecentStatusRecords(this.session, this.declare, sinceMs, (record) => {
      if ((record as { kind?: unknown } | null)?.kind !== "service") return;
      const report = serviceReportOf(record);
      if (report !== undefined && report.at >= sinceMs) out.push(report);
    });
    return out.sort((a, b) => a.at - b.at);
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }
}

/**
 * Service reports (service-report.ts) on NATS JetStream: one message per
 * report on `<prefix>.status`, kept by the `<PREFIX>_STATUS` stream
 * (limits retention, file storage). The stream bounds itself: messages
 * older than twice REPORT_RETENTION_MS are dropped by the server, and so are
 * the oldest past STATUS_MAX_BYTES, so a crowd of reporters cannot grow it
 * without end. Made by the first write, like the dead-letter stream; a read
 * of a server where nothing ever reported finds none.
 *
 * Reading starts an ordered consumer at a time a little before `sinceMs`
 * (the server stamps messages with its own clock, the reports carry the
 * reporter's), reads up to the stream's last message as it was when the read
 * began, and keeps the reports whose own time is in range.
 */
import { DeliverPolicy, jetstream, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, RequestError, type NatsConnection } from "@nats-io/nats-core";
import { REPORT_RETENTION_MS } from "../../transport/abilities.js";
import { serviceReportOf, type ServiceReport } from "../../transport/service-report.js";
import type { NatsNames } from "./names.js";
import { isNotFound } from "./topology.js";

const TIMEOUT_MS = 5_000;
/** A reporter's clock this far behind the server's still finds its reports. */
const CLOCK_MARGIN_MS = 60_000;
/** The stream's size bound: about 30,000 reports of a few services each. */
export const STATUS_MAX_BYTES = 64 * 1024 * 1024;
/** Messages read per fetch. */
const BATCH = 500;

interface Link {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
}

export class NatsServiceReports {
  private ensured = false;

  constructor(
    private readonly link: () => Promise<Link>,
    private readonly names: NatsNames,
    private readonly replicas: number,
  ) {}

  async write(report: ServiceReport): Promise<void> {
    const { nc } = await this.ready();
    let reply: Awaited<ReturnType<NatsConnection["request"]>>;
    try {
      reply = await nc.request(this.names.statusSubject(), JSON.stringify(report), { timeout: TIMEOUT_MS });
    } catch (err) {
      // No responder: the stream was removed since it was made; the next report makes it again.
      if (err instanceof RequestError && err.isNoResponders()) this.ensured = false;
      throw err;
    }
    const ack = reply.json<{ error?: { description: string } }>();
    if (ack.error !== undefined) throw new Error(`nats: the status stream refused a service report: ${ack.error.description}`);
  }

  /** Messages are written by every process on the server: each is checked, a malformed one skipped. */
  async read(sinceMs: number): Promise<ServiceReport[]> {
    const { nc, jsm } = await this.link();
    const stream = this.names.statusStream();
    let last: { seq: number; at: number };
    try {
      const { state } = await jsm.streams.info(stream);
      last = { seq: state.last_seq, at: Date.parse(state.last_ts) };
    } catch (err) {
      if (isNotFound(err)) return []; // no service ever reported on this server
      throw err;
    }
    const start = sinceMs - CLOCK_MARGIN_MS;
    if (last.seq === 0 || last.at < start) return [];
    const consumer = await jetstream(nc, { timeout: TIMEOUT_MS }).consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(start).toISOString(),
    });
    const out: ServiceReport[] = [];
    try {
      for (let seq = 0; seq < last.seq; ) {
        const before = seq;
        const batch = await consumer.fetch({ max_messages: BATCH, expires: TIMEOUT_MS });
        for await (const m of batch) {
          seq = m.seq;
          const report = parsed(m.string());
          if (report !== undefined && report.at >= sinceMs) out.push(report);
          if (seq >= last.seq || m.info.pending === 0) {
            seq = last.seq;
            break;
          }
        }
        if (seq === before) break; // nothing came (the rest aged out meanwhile)
      }
    } finally {
      await consumer.delete().catch((err: unknown) => {
        // An ordered consumer is ephemeral: the server removes it after its inactivity threshold anyway.
        if (!isNotFound(err)) throw err;
      });
    }
    return out.sort((a, b) => a.at - b.at);
  }

  private async ready(): Promise<Link> {
    const link = await this.link();
    if (this.ensured) return link;
    const name = this.names.statusStream();
    try {
      await link.jsm.streams.info(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await link.jsm.streams.add({
        name,
        subjects: [this.names.statusSubject()],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: this.replicas,
        max_age: nanos(2 * REPORT_RETENTION_MS),
        max_bytes: STATUS_MAX_BYTES,
      });
    }
    this.ensured = true;
    return link;
  }
}

function parsed(text: string): ServiceReport | undefined {
  try {
    return serviceReportOf(JSON.parse(text));
  } catch {
    return undefined; // not JSON: written by something other than missive, skipped like any malformed report
  }
}

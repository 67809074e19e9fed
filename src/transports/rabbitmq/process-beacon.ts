/**
 * Which missive processes use this virtual host, and with which settings.
 * What a RabbitMQ process chose for itself (its heartbeat as negotiated with
 * the broker, its prefetch, the queue type it declares) is on no queue, so
 * `missive doctor` in another process could only echo its own options. Each
 * process that publishes or consumes therefore appends a small record of its
 * own, read back from its live connection where the connection knows, to the
 * `missive.status` stream (status-reporter.ts): at its first publish or
 * subscribe, again every few seconds while it runs, and a last one, marked
 * closed, when it closes. doctor folds the records of the last LIVE_MS.
 *
 * Limits: a process killed without closing is listed until its record is
 * LIVE_MS old; the record uses the process's own clock.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { MISSIVE_VERSION } from "../../version.js";
import type { ResolvedRabbitmqOptions } from "./options.js";
import type { AmqpSession } from "./session.js";
import { LIVE_MS } from "./status-reporter.js";
import { StatusStreamWriter } from "./status-stream-writer.js";

const HEARTBEAT_MS = 5000;
const CLOSE_WAIT_MS = 2000;
const HOST = hostname().slice(0, 128);

/** What one process runs with: the connection's values as negotiated with the broker, the rest from its options. */
export interface ProcessSettings {
  /** Seconds, as negotiated on the live connection; 0 means heartbeats are off. */
  readonly heartbeatSeconds: number;
  readonly frameMax: number;
  /** The broker's own version, as the connection was told. */
  readonly brokerVersion: string;
  readonly queueType: string;
  readonly declare: boolean;
  readonly confirmTimeoutMs: number;
  /** Whether the connection is TLS (amqps). */
  readonly tls: boolean;
  /** Broker nodes it may connect to (`url` plus `failoverUrls`). */
  readonly nodes: number;
  readonly partitions: number;
}

export interface ProcessRecord {
  readonly v: 1;
  readonly kind: "process";
  readonly reporter: string;
  readonly host: string;
  readonly pid: number;
  readonly missiveVersion: string;
  readonly startedAt: number;
  readonly settings: ProcessSettings;
  readonly closed: boolean;
  readonly at: number;
}

/** amqplib's connection after tuning; these fields are set by its handshake and not in its type definitions. */
interface TunedConnection {
  readonly heartbeat?: unknown;
  readonly frameMax?: unknown;
  readonly serverProperties?: { readonly version?: unknown };
}

export class ProcessBeacon {
  readonly id = randomUUID();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private readonly writer: StatusStreamWriter;
  private closed = false;

  constructor(
    private readonly session: AmqpSession,
    private readonly options: ResolvedRabbitmqOptions,
  ) {
    this.writer = new StatusStreamWriter(session, options.declare);
  }

  /** Called on every publish and subscribe: the first call starts the reports, the rest cost one comparison. */
  activate(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => this.report(false), HEARTBEAT_MS).unref();
    this.report(false);
  }

  /** Stop reporting without a last record, as a crash would (the transport's destroy()). */
  stop(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** A last record marked closed, so doctor stops listing this process at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.report(true);
    // Best-effort: a broker that is gone must not hold up the transport's close (readers expire the records anyway).
    await Promise.race([this.sending, new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    await this.writer.close();
  }

  private report(closed: boolean): void {
    this.sending = this.sending.then(async () => {
      try {
        await this.writer.write([await this.recordOf(closed)]);
      } catch (err) {
        // The record feeds another process's doctor; the next heartbeat sends it again.
        this.session.context.log.warn({ err }, "rabbitmq: writing this process's settings record failed; the next heartbeat sends it again");
      }
    });
  }

  private async recordOf(closed: boolean): Promise<ProcessRecord> {
    const { model } = await this.session.connection(HEARTBEAT_MS);
    const tuned = model.connection as unknown as TunedConnection;
    const o = this.options;
    return {
      v: 1,
      kind: "process",
      reporter: this.id,
      host: HOST,
      pid: process.pid,
      missiveVersion: MISSIVE_VERSION,
      startedAt: this.startedAt,
      settings: {
        heartbeatSeconds: typeof tuned.heartbeat === "number" ? tuned.heartbeat : -1,
        frameMax: typeof tuned.frameMax === "number" ? tuned.frameMax : -1,
        brokerVersion: bufferText(tuned.serverProperties?.version),
        queueType: o.queueType,
        declare: o.declare,
        confirmTimeoutMs: o.confirmTimeoutMs,
        tls: o.urls.every((u) => u.startsWith("amqps:")),
        nodes: o.urls.length,
        partitions: o.partitions,
      },
      closed,
      at: Date.now(),
    };
  }
}

/** The live processes among the records read: each reporter's latest, younger than LIVE_MS and not closed. */
export function liveProcesses(records: readonly unknown[], now: number): ProcessRecord[] {
  const latest = new Map<string, ProcessRecord>();
  for (const raw of records) {
    const r = processRecordOf(raw);
    if (!r) continue;
    const seen = latest.get(r.reporter);
    if (!seen || seen.at <= r.at) latest.set(r.reporter, r);
  }
  return [...latest.values()].filter((r) => !r.closed && now - r.at <= LIVE_MS).sort((a, b) => a.startedAt - b.startedAt);
}

/** A record as another process wrote it: anything malformed is skipped (the stream is shared, and doctor must not trust it blindly). */
export function processRecordOf(raw: unknown): ProcessRecord | undefined {
  if (raw === null || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  if (r["v"] !== 1 || r["kind"] !== "process") return undefined;
  const s = r["settings"];
  if (s === null || typeof s !== "object") return undefined;
  const settings = s as Record<string, unknown>;
  const text = (v: unknown): v is string => typeof v === "string" && v.length <= 256;
  const int = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
  const { reporter, host, pid, missiveVersion, startedAt, closed, at } = r;
  if (!text(reporter) || !text(host) || !int(pid) || !text(missiveVersion) || !int(startedAt) || typeof closed !== "boolean" || !int(at)) return undefined;
  const { heartbeatSeconds, frameMax, brokerVersion, queueType, declare, confirmTimeoutMs, tls, nodes, partitions } = settings;
  if (!int(heartbeatSeconds) || !int(frameMax) || !text(brokerVersion) || !text(queueType) || typeof declare !== "boolean") return undefined;
  if (!int(confirmTimeoutMs) || typeof tls !== "boolean" || !int(nodes) || !int(partitions)) return undefined;
  return {
    v: 1, kind: "process", reporter, host, pid, missiveVersion, startedAt, closed, at,
    settings: { heartbeatSeconds, frameMax, brokerVersion, queueType, declare, confirmTimeoutMs, tls, nodes, partitions },
  };
}

function bufferText(v: unknown): string {
  if (typeof v === "string") return v.slice(0, 64);
  if (Buffer.isBuffer(v)) return v.toString("utf8").slice(0, 64);
  return "unknown";
}

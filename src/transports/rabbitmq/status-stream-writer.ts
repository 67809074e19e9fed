/**
 * Appends JSON records to `missive.status` on a confirm channel of its own
 * (StreamAppender), declaring the stream once (again after a failure).
 * Shared by the status reports (status-reporter.ts) and the process records
 * (process-beacon.ts); each decides what a failed append means. Not through
 * the transport's Publisher: after a node restart the stream comes back later
 * than the queues, and its unconfirmed appends held up the service's own
 * publishes on the shared channel (a producer never confirmed again).
 */
import { STATUS_STREAM } from "./names.js";
import type { AmqpSession } from "./session.js";
import { StreamAppender, declareStream } from "./stream-reader.js";

/** Retention: readers look back 15 s only, so small segments and a short age keep the stream tiny. */
export const STATUS_STREAM_ARGS = { "x-max-age": "10m", "x-stream-max-segment-size-bytes": 1_000_000 } as const;

const CLOSE_WAIT_MS = 1000;

export class StatusStreamWriter {
  private declared: Promise<void> | undefined;
  private readonly appender: StreamAppender;

  constructor(
    private readonly session: AmqpSession,
    private readonly declare: boolean,
  ) {
    this.appender = new StreamAppender(session, STATUS_STREAM);
  }

  /** Rejects when the stream could not be declared or a record was not confirmed. */
  async write(records: readonly unknown[]): Promise<void> {
    try {
      this.declared ??= declareStream(this.session, STATUS_STREAM, STATUS_STREAM_ARGS, this.declare);
      await this.declared;
      await this.appender.append(records);
    } catch (err) {
      this.declared = undefined;
      throw err;
    }
  }

  /** Best-effort and bounded: amqplib's channel close never finishes when the connection died during it. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
    const closing = this.appender.close().catch((err: unknown) => this.session.context.log.debug({ err }, "rabbitmq: closing the status stream's channel failed; it was gone already"));
    await Promise.race([closing, bound]);
    clearTimeout(timer);
  }
}

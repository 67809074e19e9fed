/**
 * Appends JSON records to `missive.status` through the transport's
 * publisher, declaring the stream once (again after a failure). Shared by
 * the status reports (status-reporter.ts) and the process records
 * (process-beacon.ts); each decides what a failed append means.
 */
import { randomUUID } from "node:crypto";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { STATUS_STREAM } from "./names.js";
import type { AmqpSession } from "./session.js";
import { declareStream } from "./stream-reader.js";

/** Retention: readers look back 15 s only, so small segments and a short age keep the stream tiny. */
export const STATUS_STREAM_ARGS = { "x-max-age": "10m", "x-stream-max-segment-size-bytes": 1_000_000 } as const;

export class StatusStreamWriter {
  private declared: Promise<void> | undefined;

  constructor(
    private readonly session: AmqpSession,
    private readonly declare: boolean,
    private readonly publish: (batch: readonly OutgoingMessage[]) => Promise<PublishResult[]>,
  ) {}

  /** Rejects when the stream could not be declared or a record was not confirmed. */
  async write(records: readonly unknown[]): Promise<void> {
    try {
      this.declared ??= declareStream(this.session, STATUS_STREAM, STATUS_STREAM_ARGS, this.declare);
      await this.declared;
      await this.publish(records.map((r) => ({
        topic: STATUS_STREAM,
        group: STATUS_STREAM,
        id: randomUUID(),
        key: undefined,
        wire: { headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify(r)) },
      })));
    } catch (err) {
      this.declared = undefined;
      throw err;
    }
  }
}

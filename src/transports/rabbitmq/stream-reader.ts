/**
 * Reading a RabbitMQ stream over AMQP 0-9-1, for the catalog and the status
 * reports. AMQP cannot ask a stream where it ends (declare-ok's message count
 * is 0 for streams), so a read ends at an idle gap: nothing new for a short
 * while after the last record. A record appended by another process in the
 * last few milliseconds may therefore be missed by one read and seen by the
 * next; records this process appended itself are folded in locally by the
 * callers, so they never depend on the gap.
 */
import { randomUUID } from "node:crypto";
import type { Channel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { ConfigurationError, PublishTimeoutError } from "../../errors.js";
import { toAmqpError } from "./amqp-errors.js";
import { LazyChannel } from "./lazy-channel.js";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

/** Where a read starts: a numeric offset, the stream's first record, or a unix time in ms (the broker starts at the chunk holding it). */
export type StreamStart = { readonly offset: number } | { readonly first: true } | { readonly sinceMs: number };

export interface StreamReadOptions {
  /** Nothing new for this long after the last record ends the read, ms. */
  readonly idleMs: number;
  /** Before the first record the broker may need longer to start the consumer, ms. */
  readonly firstIdleMs: number;
  /** Most records read (memory bound); the read ends early past it. */
  readonly maxRecords: number;
  /** Records pushed before an ack (streams require a prefetch and manual acks). */
  readonly prefetch?: number;
}

/** Resolves with the offset after the last record read (or undefined when none was read). */
export async function readStream(
  session: AmqpSession, stream: string, start: StreamStart, options: StreamReadOptions, onRecord: (record: unknown, offset: number | undefined) => void,
): Promise<number | undefined> {
  const { model } = await session.connection();
  let ch: Channel | undefined;
  try {
    ch = await model.createChannel();
    logChannelErrors(ch, session.context, `reader of ${stream}`);
    const channel = ch;
    await channel.prefetch(options.prefetch ?? 1000);
    let next: number | undefined;
    let read = 0;
    await new Promise<void>((resolve, reject) => {
      let timer = setTimeout(resolve, options.firstIdleMs);
      const finish = (): void => {
        clearTimeout(timer);
        resolve();
      };
      channel.on("close", () => {
        clearTimeout(timer);
        reject(new Error(`the channel reading ${stream} closed`));
      });
      channel.consume(stream, (message: ConsumeMessage | null) => {
        if (message === null) return finish();
        channel.ack(message);
        if (read >= options.maxRecords) return finish();
        read++;
        const offset = Number(message.properties.headers?.["x-stream-offset"]);
        const at = Number.isSafeInteger(offset) ? offset : undefined;
        if (at !== undefined) next = at + 1;
        onRecord(parseRecord(message.content), at);
        clearTimeout(timer);
        timer = setTimeout(resolve, read >= options.maxRecords ? 0 : options.idleMs);
      }, { noAck: false, arguments: { "x-stream-offset": offsetArgument(start) } }).catch(reject);
    });
    return next;
  } catch (err) {
    throw toAmqpError(err, `rabbitmq: reading stream ${stream}`);
  } finally {
    await closeChannel(ch, session.context, `reader of ${stream}`);
  }
}

/** Declare a stream (or, with `declare: false`, check that it exists). */
export async function declareStream(session: AmqpSession, stream: string, args: Record<string, unknown>, declare: boolean): Promise<void> {
  const { model } = await session.connection();
  const ch = await model.createChannel();
  logChannelErrors(ch, session.context, `declaration of ${stream}`);
  try {
    if (declare) await ch.assertQueue(stream, { durable: true, arguments: { ...args, "x-queue-type": "stream" } });
    else await ch.checkQueue(stream);
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) {
      throw new ConfigurationError(`rabbitmq: stream ${stream} does not exist, and this transport runs with \`declare: false\`; declare it with \`missive topology\``, { cause: err });
    }
    throw toAmqpError(err, `rabbitmq: declaring stream ${stream}`);
  } finally {
    await closeChannel(ch, session.context, `declaration of ${stream}`);
  }
}

function offsetArgument(start: StreamStart): unknown {
  if ("offset" in start) return start.offset;
  if ("first" in start) return "first";
  // A typed AMQP timestamp (seconds): "from this time on", at chunk granularity.
  return { "!": "timestamp", value: Math.max(0, Math.floor(start.sinceMs / 1000)) };
}

/** A record's JSON, or undefined for anything that is not (streams are shared; junk is skipped, not fatal). */
function parseRecord(content: Buffer): unknown {
  if (content.byteLength > 64 * 1024) return undefined;
  try {
    return JSON.parse(content.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Appends JSON records to a stream on a confirm channel of its own. The
 * catalog cannot go through the Publisher: it is called from the topology
 * while the Publisher is routing a delayed message, and would wait on itself.
 *
 * With `confirmTimeoutMs` an append the broker does not confirm in time
 * rejects with a PublishTimeoutError and its channel is given up (closed in
 * the background, bounded): amqplib's waitForConfirms has no bound, and a
 * stream that comes back later than the queues after a node restart left
 * such waits (and the callers behind them) hanging.
 */
export class StreamAppender {
  private readonly channel: LazyChannel<ConfirmChannel>;

  constructor(
    private readonly session: AmqpSession,
    private readonly stream: string,
    private readonly confirmTimeoutMs?: number,
  ) {
    this.channel = new LazyChannel(session, (model) => model.createConfirmChannel());
  }

  async append(records: readonly unknown[]): Promise<void> {
    try {
      const ch = await this.open();
      for (const record of records) {
        ch.publish("", this.stream, Buffer.from(JSON.stringify(record)), { persistent: true, contentType: "application/json", messageId: randomUUID() });
      }
      await this.confirmed(ch);
    } catch (err) {
      this.channel.forget();
      throw toAmqpError(err, `rabbitmq: appending to stream ${this.stream}`);
    }
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  private open(): Promise<ConfirmChannel> {
    return this.channel.get();
  }

  private async confirmed(ch: ConfirmChannel): Promise<void> {
    const limit = this.confirmTimeoutMs;
    if (limit === undefined) return ch.waitForConfirms();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), limit)));
    const waiting = ch.waitForConfirms();
    try {
      if ((await Promise.race([waiting, late])) !== "late") return;
    } finally {
      clearTimeout(timer);
    }
    // The wait is abandoned: its later rejection (the channel closing below) has no one to tell.
    waiting.catch((err: unknown) => this.session.context.log.debug({ err, stream: this.stream }, "rabbitmq: an abandoned stream append ended"));
    this.channel.forget();
    void closeChannel(ch, this.session.context, `${this.stream} appender`);
    throw new PublishTimeoutError(`rabbitmq: the broker did not confirm an append to stream ${this.stream} within ${limit} ms`);
  }
}

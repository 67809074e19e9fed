/**
 * A scan of one group's dead-letter queue. AMQP has no non-destructive read
 * of a queue, so a scan consumes every message without acking, lets the
 * caller act (ack what it removes), then closes the channel: the broker puts
 * every unacked message back in its original order (quorum queues add an
 * x-delivery-count, which fromAmqpProperties strips). Nothing is nacked
 * mid-scan: a returned message is redelivered first and the scan would loop.
 *
 * Scans of one queue are serialised (dlq-lock.ts). Memory is O(the queue's
 * size) per scan: every message is held until the channel closes; queues
 * larger than MAX_SCAN_MESSAGES are refused rather than read.
 * On a broker with a quorum `delivery-limit` (a policy, or RabbitMQ 4's
 * default of 20), every scan counts as a delivery of each entry: entries
 * would be dropped after that many scans. Do not set one on `*.dlq` queues.
 */
import type { Channel, ConsumeMessage } from "amqplib";
import { ConfigurationError, ConnectionError } from "../../errors.js";
import type { DeadLetter } from "../../transport/transport.js";
import { toAmqpError } from "./amqp-errors.js";
import { deadLetterOf } from "./dead-letter-entry.js";
import type { DeadLetterLocks } from "./dlq-lock.js";
import { deadLetterQueueOf } from "./names.js";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

export const MAX_SCAN_MESSAGES = 500_000;
/** Arrival time allowed on top of a per-message allowance before a scan gives up. */
const SCAN_BASE_MS = 10_000;
const SCAN_PER_MESSAGE_MS = 0.2;
const MAX_PREFETCH = 65_535;

export interface ScannedEntry {
  readonly entry: DeadLetter;
  /** Remove it from the queue (sent at once; takes effect when the scan's channel closes cleanly). */
  ack(): void;
}

export class DeadLetterScanner {
  constructor(
    private readonly session: AmqpSession,
    private readonly locks: DeadLetterLocks,
  ) {}

  /** Run `work` over the group's dead-letter entries, in queue order; an absent queue has none. */
  scan<T>(group: string, work: (entries: readonly ScannedEntry[]) => Promise<T>): Promise<T> {
    return this.locks.withLock(group, async () => {
      const queue = deadLetterQueueOf(group);
      const { model } = await this.session.connection();
      const ch = await model.createChannel();
      logChannelErrors(ch, this.session.context, `dead-letter scan of ${group}`);
      try {
        let ready: number;
        try {
          ready = (await ch.checkQueue(queue)).messageCount;
        } catch (err) {
          if ((err as { code?: unknown }).code === 404) return await work([]);
          throw err;
        }
        if (ready > MAX_SCAN_MESSAGES) {
          throw new ConfigurationError(`rabbitmq: dead-letter queue ${JSON.stringify(queue)} holds ${ready} messages; a scan reads at most ${MAX_SCAN_MESSAGES} (discard or replay by group to shrink it)`);
        }
        const messages = ready === 0 ? [] : await consumeAll(ch, queue, ready);
        return await work(messages.map((m) => ({ entry: deadLetterOf(m, group), ack: () => ch.ack(m) })));
      } catch (err) {
        throw toAmqpError(err, `rabbitmq: scanning ${JSON.stringify(queue)}`);
      } finally {
        // Every message not acked goes back, in order.
        await closeChannel(ch, this.session.context, `dead-letter scan of ${group}`);
      }
    });
  }
}

/** Consume until `count` messages have arrived (more may: entries dead-lettered meanwhile), then stop the consumer. */
async function consumeAll(ch: Channel, queue: string, count: number): Promise<ConsumeMessage[]> {
  const messages: ConsumeMessage[] = [];
  // Prefetch must cover every message at once (nothing is acked until the end); 0 is unlimited.
  await ch.prefetch(count <= MAX_PREFETCH ? count : 0);
  let consuming: Promise<{ consumerTag: string }> | undefined;
  const timeoutMs = SCAN_BASE_MS + count * SCAN_PER_MESSAGE_MS;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConnectionError(`rabbitmq: only ${messages.length} of ${count} dead letters of ${JSON.stringify(queue)} arrived within ${Math.round(timeoutMs)} ms (is another consumer taking them?)`)), timeoutMs);
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    ch.on("close", () => settle(new ConnectionError(`rabbitmq: the channel scanning ${JSON.stringify(queue)} closed`)));
    consuming = ch.consume(queue, (m) => {
      if (m === null) return settle(new ConnectionError(`rabbitmq: the scan of ${JSON.stringify(queue)} was cancelled (queue deleted?)`));
      messages.push(m);
      if (messages.length >= count) settle();
    }, { noAck: false });
    consuming.catch((err: unknown) => settle(err instanceof Error ? err : new Error(String(err))));
  });
  if (consuming) await ch.cancel((await consuming).consumerTag);
  return messages;
}

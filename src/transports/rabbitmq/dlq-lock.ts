/**
 * A mutex per dead-letter queue, so two scans never interleave (one would
 * see the other's unacked messages as missing). Within a process, a promise
 * chain per queue; across connections, an exclusive queue `<group>.dlq.lock`
 * declared on a channel of its own: a second connection's declare fails with
 * 405 RESOURCE_LOCKED and retries with backoff, up to LOCK_WAIT_MS, then
 * ConnectionError. The broker deletes an exclusive queue with its
 * connection, so a crashed holder frees the lock.
 */
import { ConnectionError } from "../../errors.js";
import { fullJitterDelay, sleep } from "../../runtime/backoff.js";
import { toAmqpError } from "./amqp-errors.js";
import { deadLetterLockOf } from "./names.js";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

export const LOCK_WAIT_MS = 10_000;
const RESOURCE_LOCKED = 405;

export class DeadLetterLocks {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly session: AmqpSession) {}

  /** Run `work` holding the group's dead-letter lock. */
  async withLock<T>(group: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(group) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(group, tail);
    try {
      await previous;
      const release = await this.acquire(group);
      try {
        return await work();
      } finally {
        await release();
      }
    } finally {
      done();
      if (this.tails.get(group) === tail) this.tails.delete(group);
    }
  }

  private async acquire(group: string): Promise<() => Promise<void>> {
    const lock = deadLetterLockOf(group);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      const { model } = await this.session.connection();
      const ch = await model.createChannel();
      logChannelErrors(ch, this.session.context, `dead-letter lock of ${group}`);
      try {
        await ch.assertQueue(lock, { exclusive: true, autoDelete: true, durable: false, arguments: { "x-queue-type": "classic" } });
      } catch (err) {
        await closeChannel(ch, this.session.context, `dead-letter lock of ${group}`);
        if ((err as { code?: unknown }).code !== RESOURCE_LOCKED) throw toAmqpError(err, `rabbitmq: taking the dead-letter lock of ${JSON.stringify(group)}`);
        const wait = Math.min(fullJitterDelay(attempt, { baseMs: 50, maxMs: 1000 }, Math.random) + 10, deadline - Date.now());
        if (wait <= 0) throw new ConnectionError(`rabbitmq: another connection has held the dead-letter lock of ${JSON.stringify(group)} for ${LOCK_WAIT_MS} ms`, { cause: err });
        await sleep(wait);
        continue;
      }
      return async () => {
        // Deleting is what frees it for other connections: retry on a fresh channel if this one died.
        const deleted = await ch.deleteQueue(lock).then(() => true, (err: unknown) => {
          this.session.context.log.debug({ err, group }, "rabbitmq: freeing the dead-letter lock failed; trying on a fresh channel");
          return false;
        });
        await closeChannel(ch, this.session.context, `dead-letter lock of ${group}`);
        if (!deleted) await this.deleteOnFreshChannel(lock);
      };
    }
  }

  private async deleteOnFreshChannel(lock: string): Promise<void> {
    try {
      const { model } = await this.session.connection(1000);
      const ch = await model.createChannel();
      logChannelErrors(ch, this.session.context, `dead-letter lock ${lock}`);
      // Held until this connection ends: other processes' dead-letter admin waits for it, then fails.
      await ch.deleteQueue(lock).catch((err: unknown) => this.session.context.log.warn({ err, lock }, "rabbitmq: freeing a dead-letter lock failed; it is held until this connection closes"));
      await closeChannel(ch, this.session.context, `dead-letter lock ${lock}`);
    } catch (err) {
      // The connection is gone, and the exclusive queue with it.
      this.session.context.log.debug({ err, lock }, "rabbitmq: no connection to free a dead-letter lock; it went with the old one");
    }
  }
}

/**
 * Publishing with confirms: one confirm channel per transport, persistent
 * messages, `mandatory` (an unroutable message comes back as a per-message
 * UnroutableError), and a window of outstanding confirms shared by every
 * concurrent batch so publishes pipeline instead of waiting one by one.
 * A nack, a confirm that does not come in time or a channel lost mid-batch
 * re-publishes just those messages (same message id) with backoff and full
 * jitter, waiting for the reconnect if it must; past `confirmTimeoutMs` the
 * batch rejects with ConnectionError and the runtime's producer retries it.
 * While the broker blocks publishers (a memory or disk alarm) publishes wait,
 * up to `blockedTimeoutMs`.
 *
 * The same channel serves RabbitMQ's direct reply-to, which must consume and
 * publish requests on one channel.
 */
import type { ConfirmChannel, ConsumeMessage, Message } from "amqplib";
import { ClosedError, ConnectionError, MessageTooLargeError, UnroutableError, isMissiveError } from "../../errors.js";
import { fullJitterDelay } from "../../runtime/backoff.js";
import { keyHash } from "../../runtime/key-hash.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { toAmqpError } from "./amqp-errors.js";
import { toAmqpProperties } from "./amqp-headers.js";
import { fitHeaderTable } from "./moved-headers.js";
import { DIRECT_REPLY_TO, delayLevelExchange, delayRoutingKey, delayUnits, levelsOf } from "./names.js";
import { partitionRoutingKey } from "./partition-names.js";
import type { ResolvedRabbitmqOptions } from "./options.js";
import type { AmqpSession } from "./session.js";
import type { Topology } from "./topology.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

/** Topic routes remembered once their exchange is declared (a bound on memory, not on topics). */
const MAX_CACHED_ROUTES = 10_000;

/** Where one message goes on the broker. */
interface Route {
  readonly exchange: string;
  readonly routingKey: string;
  /**
   * A topic's fanout exchange: the routing key is the message's key hash bits instead (partition-names.ts),
   * which fanout ignores and an ordered group's partition exchange routes by.
   */
  readonly byKey?: boolean;
}

interface RetryRound {
  readonly waiters: Array<{ ticket: number; release: () => void }>;
  /** Resolves once the waiters were released: new batches write after them. */
  readonly gate: Promise<void>;
}

type Attempt = { ok: true; returned: boolean } | { ok: false; error: Error; retry: boolean };

export class Publisher {
  private channel: Promise<ConfirmChannel> | undefined;
  private outstanding = 0;
  private slotWaiters: Array<() => void> = [];
  /**
   * basic.returns not yet matched to their confirm, by exchange, routing key and message id. RabbitMQ
   * sends a message's return before its ack, so the confirm callback finds it here; nothing is kept
   * per message on the normal path.
   */
  private readonly returned = new Map<string, number>();
  private replySink: ((message: ConsumeMessage) => void) | undefined;
  private readonly replyTopics = new Set<string>();
  private closed = false;
  private readonly topicRoutes = new Map<string, Route>();
  /** The last write in the serial order of channel writes. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Call order of publishes: retries are re-sent in it. */
  private nextTicket = 0;
  /** Batches waiting to re-send after a failure, released together in call order. */
  private retryRound: RetryRound | undefined;
  /** Consecutive failed rounds: the shared retry backoff grows with them. */
  private failedRounds = 0;
  /** Spreads unkeyed messages over an ordered group's partitions (they need no order). */
  private spread = 0;

  constructor(
    private readonly session: AmqpSession,
    private readonly topology: Topology,
    private readonly options: ResolvedRabbitmqOptions,
    private readonly maxMessageBytes: number,
  ) {
    session.onLost(() => (this.channel = undefined));
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const ticket = this.nextTicket++;
    const results: PublishResult[] = new Array<PublishResult>(batch.length).fill(undefined);
    const routes: Array<Route | undefined> = new Array<Route | undefined>(batch.length).fill(undefined);
    const deadline = Date.now() + this.options.confirmTimeoutMs;
    let pending = batch.map((_, i) => i);
    let lastError: Error | undefined;
    // A new batch never overtakes the re-sends of earlier batches that failed.
    while (this.retryRound) await this.retryRound.gate;
    for (let round = 1; pending.length > 0; round++) {
      if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ConnectionError(`rabbitmq: ${pending.length} message(s) not confirmed within ${this.options.confirmTimeoutMs} ms`, { cause: lastError });
      }
      const current = pending;
      // Writes to the channel happen in call order across concurrent batches; only the confirms are awaited in parallel.
      const outcomes = await this.serial(async () => {
        if (round === 1) await this.resolveRoutes(batch, routes, results);
        const indexes = current.filter((i) => routes[i] !== undefined && results[i] === undefined);
        // An earlier batch failed and waits for its re-send: writing now, on a new channel, would put these ahead of it.
        if (this.retryRound) return inDoubt(indexes, new ConnectionError("rabbitmq: waiting for the re-send of earlier publishes"));
        return this.write(batch, routes, indexes, remaining, deadline);
      });
      const attempts = await this.awaitConfirms(outcomes.promises, outcomes.giveUp, remaining);
      const failed: number[] = [];
      attempts.forEach((attempt, j) => {
        const i = outcomes.indexes[j]!;
        if (attempt.ok) results[i] = attempt.returned ? new UnroutableError(`no queue is bound to ${describe(batch[i]!)}`) : undefined;
        else if (attempt.retry) {
          failed.push(i);
          lastError = attempt.error;
        } else results[i] = attempt.error;
      });
      pending = failed;
      if (pending.length > 0) {
        // Whatever else is outstanding on that channel is in doubt too: fail it all now, so every
        // batch joins one retry round and is re-sent in call order (a key is never reordered by retries).
        if (outcomes.channel) this.abandonChannel(outcomes.channel);
        await this.retryTurn(ticket, deadline);
      } else this.failedRounds = 0;
    }
    return results;
  }

  /** Serve direct reply-to for `topic` (the runtime's reply topic): requests naming it get RabbitMQ's reply address. */
  async serveReplies(topic: string, sink: (message: ConsumeMessage) => void): Promise<void> {
    this.replyTopics.add(topic);
    this.replySink = sink;
    // Consume on the current channel now: replies to requests published from here on come back.
    await this.channelFor(this.options.confirmTimeoutMs);
  }

  stopReplies(topic: string): void {
    this.replyTopics.delete(topic);
    if (this.replyTopics.size === 0) this.replySink = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.slotWaiters.splice(0)) w();
    const ch = this.channel;
    this.channel = undefined;
    // A channel that failed to open has nothing to close; its opening's callers saw why.
    const live = await ch?.catch((err: unknown) => this.session.context.log.debug({ err }, "rabbitmq: the publish channel never opened"));
    await closeChannel(live ?? undefined, this.session.context, "publish");
  }

  /** The route when it needs no declaration (the hot path: no promise per message), else undefined. */
  private knownRoute(m: OutgoingMessage): Route | undefined {
    if (m.delayMs !== undefined && m.delayMs > 0) return undefined;
    if (m.group !== undefined) return { exchange: "", routingKey: m.group };
    return this.topicRoutes.get(m.topic);
  }

  private async routeOf(m: OutgoingMessage): Promise<Route> {
    if (m.delayMs !== undefined && m.delayMs > 0) {
      const units = delayUnits(m.delayMs);
      if (units > 0) {
        const destination = m.group !== undefined ? { kind: "group" as const, name: m.group } : { kind: "topic" as const, name: m.topic };
        await this.topology.ensureDelay(units, destination);
        return { exchange: delayLevelExchange(levelsOf(units)[0]!), routingKey: delayRoutingKey(units, destination) };
      }
    }
    // A reply to a direct reply-to address, or a message for one group only: the default exchange routes by queue name.
    if (m.topic.startsWith(DIRECT_REPLY_TO + ".")) return { exchange: "", routingKey: m.topic };
    if (m.group !== undefined) return { exchange: "", routingKey: m.group };
    await this.topology.ensureExchange(m.topic);
    const route: Route = { exchange: m.topic, routingKey: "", byKey: true };
    if (this.topicRoutes.size < MAX_CACHED_ROUTES) this.topicRoutes.set(m.topic, route);
    return route;
  }

  /** Routes of a batch; a message that cannot be routed (too large, a delay too long) gets its error as its result. */
  private async resolveRoutes(batch: readonly OutgoingMessage[], routes: Array<Route | undefined>, results: PublishResult[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      try {
        let size = m.wire.body.byteLength;
        for (const name in m.wire.headers) size += name.length + m.wire.headers[name]!.length;
        if (size > this.maxMessageBytes) throw new MessageTooLargeError(`message is ${size} bytes, the broker accepts ${this.maxMessageBytes}`);
        routes[i] = this.knownRoute(m) ?? (await this.routeOf(m));
      } catch (err) {
        if (isMissiveError(err) && (err.code === "MISSIVE_CONFIG" || err.code === "MISSIVE_TOO_LARGE")) results[i] = err;
        else throw err;
      }
    }
  }

  /** Publish each of `indexes` once, in order; each promise settles with that message's outcome. */
  private async write(
    batch: readonly OutgoingMessage[], routes: ReadonlyArray<Route | undefined>, indexes: number[], waitMs: number, deadline: number,
  ): Promise<Written> {
    let ch: ConfirmChannel;
    try {
      await this.session.whenUnblocked(this.options.blockedTimeoutMs);
      ch = await this.channelFor(waitMs);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (isMissiveError(error) && error.code !== "MISSIVE_CONNECTION") throw error;
      // The retry round opens now, inside the serial section: the next batch in line must not write ahead of these.
      this.openRetryRound(deadline);
      return inDoubt(indexes, error);
    }
    const promises: Array<Promise<Attempt>> = [];
    const giveUp: Array<(error: Error) => void> = [];
    for (const i of indexes) {
      if (this.outstanding < this.options.publishWindow) this.outstanding++;
      else await this.slot();
      const pending = this.publishOne(ch, batch[i]!, routes[i]!);
      promises.push(pending.attempt);
      giveUp.push(pending.giveUp);
    }
    return { indexes, promises, giveUp, channel: ch };
  }

  /**
   * Each outcome; those still unconfirmed after `waitMs` are given up (a retryable timeout, their
   * window slots freed; a late confirm of that copy is ignored, and the retry carries the same id).
   */
  private async awaitConfirms(promises: ReadonlyArray<Promise<Attempt>>, giveUp: ReadonlyArray<(error: Error) => void>, waitMs: number): Promise<Attempt[]> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(1, waitMs))));
    const all = Promise.all(promises);
    if ((await Promise.race([all, timedOut])) === "timeout") {
      const timeout = new ConnectionError(`rabbitmq: no publish confirm within ${waitMs} ms`);
      for (const g of giveUp) g(timeout);
    }
    clearTimeout(timer);
    return all;
  }

  /**
   * Wait for the shared retry round: one backoff for every batch that failed, then each is released
   * in call order (tickets), and only then do new batches write.
   */
  private retryTurn(ticket: number, deadline: number): Promise<void> {
    const round = this.openRetryRound(deadline);
    return new Promise<void>((release) => round.waiters.push({ ticket, release }));
  }

  /** The open retry round, or a new one released after one shared backoff. */
  private openRetryRound(deadline: number): RetryRound {
    if (!this.retryRound) {
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const round: RetryRound = { waiters: [], gate };
      this.retryRound = round;
      const delay = Math.min(fullJitterDelay(++this.failedRounds, { baseMs: 50, maxMs: 2000 }, Math.random) + 50, Math.max(0, deadline - Date.now()));
      setTimeout(() => {
        this.retryRound = undefined;
        round.waiters.sort((a, b) => a.ticket - b.ticket);
        for (const w of round.waiters) w.release();
        openGate();
      }, delay);
    }
    return this.retryRound;
  }

  /** Close a channel whose confirms are in doubt, so every publish outstanding on it fails at once. */
  private abandonChannel(ch: ConfirmChannel): void {
    void this.channel?.then((current) => {
      if (current !== ch) return;
      this.channel = undefined;
      void closeChannel(ch, this.session.context, "publish");
    }, (err: unknown) => this.session.context.log.debug({ err }, "rabbitmq: the publish channel to abandon never opened"));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    // The tail only orders the work; the caller gets `run` and its error.
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Publishes now (the caller holds a window slot); `attempt` settles with the confirm, or when given up. */
  private publishOne(ch: ConfirmChannel, m: OutgoingMessage, route: Route): { attempt: Promise<Attempt>; giveUp: (error: Error) => void } {
    const id = m.id;
    let giveUp: (error: Error) => void = () => undefined;
    const attempt = new Promise<Attempt>((resolve) => {
      let finished = false;
      const done = (outcome: Attempt): void => {
        if (finished) return;
        finished = true;
        this.release();
        resolve(outcome);
      };
      giveUp = (error) => done({ ok: false, error, retry: true });
      try {
        // Headers past what a header table holds go in front of the body (moved-headers.ts), so a retry copy,
        // a dead letter or a replay of a message received with such headers is never refused for them.
        const { wire, moved } = fitHeaderTable(m.wire);
        if (moved.length > 0) this.session.context.log.warn({ id, topic: m.topic, group: m.group, moved: moved.length }, "rabbitmq: headers that do not fit the AMQP header table were moved into the body; missive consumers and the dead-letter store restore them");
        const properties = toAmqpProperties(wire.headers);
        properties.mandatory = true;
        properties.messageId = id;
        // Unkeyed only: a priority queue would let a keyed message overtake earlier messages of its key.
        if (m.priority !== undefined && m.key === undefined && this.options.priorities) properties.priority = m.priority;
        const replyTo = m.wire.headers["ce-replyto"];
        if (replyTo !== undefined && this.replyTopics.has(replyTo)) properties.replyTo = DIRECT_REPLY_TO;
        const routingKey = route.byKey === true ? partitionRoutingKey(m.key !== undefined ? keyHash(m.key) : this.spread++) : route.routingKey;
        ch.publish(route.exchange, routingKey, Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength), properties, (err: unknown) => {
          if (err) done({ ok: false, error: toAmqpError(err, "rabbitmq: publish not confirmed"), retry: true });
          else done({ ok: true, returned: this.returned.size > 0 && this.takeReturn(route.exchange, routingKey, id) });
        });
      } catch (err) {
        // amqplib refuses a header table past its 64 KiB encoding buffer synchronously.
        if (err instanceof RangeError) done({ ok: false, error: new MessageTooLargeError(`rabbitmq: ${err.message}`), retry: false });
        else done({ ok: false, error: toAmqpError(err, "rabbitmq: publish failed"), retry: true });
      }
    });
    return { attempt, giveUp };
  }

  private onReturn(message: Message): void {
    const id = message.properties.messageId as unknown;
    if (typeof id !== "string") return;
    const key = returnKey(message.fields.exchange, message.fields.routingKey, id);
    this.returned.set(key, (this.returned.get(key) ?? 0) + 1);
  }

  /** Whether a return came for this publish (consuming it). */
  private takeReturn(exchange: string, routingKey: string, id: string): boolean {
    const key = returnKey(exchange, routingKey, id);
    const n = this.returned.get(key);
    if (n === undefined) return false;
    if (n <= 1) this.returned.delete(key);
    else this.returned.set(key, n - 1);
    return true;
  }

  private async slot(): Promise<void> {
    while (this.outstanding >= this.options.publishWindow && !this.closed) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.outstanding++;
  }

  private release(): void {
    this.outstanding--;
    this.slotWaiters.shift()?.();
  }

  private channelFor(waitMs: number): Promise<ConfirmChannel> {
    if (!this.channel) {
      const opening = (async () => {
        const { model } = await this.session.connection(waitMs);
        const ch = await model.createConfirmChannel();
        // Publishes outstanding on it fail with a bare "channel closed": the broker's reason is only here.
        logChannelErrors(ch, this.session.context, "publish", "warn");
        ch.on("return", (message: Message) => this.onReturn(message));
        ch.on("close", () => {
          if (this.channel === opening) this.channel = undefined;
          this.returned.clear();
        });
        if (this.replySink) {
          const sink = this.replySink;
          await ch.consume(DIRECT_REPLY_TO, (message) => {
            if (message) sink(message);
          }, { noAck: true });
        }
        return ch;
      })();
      // Forget a failed opening so the next publish tries again; the awaiting publish gets the error itself.
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
      this.channel = opening;
    }
    return this.opened(this.channel, waitMs);
  }

  /**
   * The opening, waited for at most `waitMs`. Writes are serial, so an opening that never settled (a
   * channel.open the broker never answered) would hold every later publish for good; given up, it is
   * forgotten so the next write opens another, and closed should it open after all.
   */
  private async opened(opening: Promise<ConfirmChannel>, waitMs: number): Promise<ConfirmChannel> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), Math.max(1, waitMs))));
    try {
      const ch = await Promise.race([opening, late]);
      if (ch !== "late") return ch;
    } catch (err) {
      throw toAmqpError(err, "rabbitmq: opening the publish channel failed");
    } finally {
      clearTimeout(timer);
    }
    if (this.channel === opening) this.channel = undefined;
    void opening.then(
      (ch) => closeChannel(ch, this.session.context, "publish"),
      (err: unknown) => this.session.context.log.debug({ err }, "rabbitmq: a publish channel given up on never opened"),
    );
    throw new ConnectionError(`rabbitmq: the publish channel did not open within ${waitMs} ms`);
  }
}

type Written = { indexes: number[]; promises: Array<Promise<Attempt>>; giveUp: Array<(error: Error) => void>; channel?: ConfirmChannel };

/** Messages not written (or written where their confirm is in doubt): each a retryable failure, re-sent with the round. */
function inDoubt(indexes: number[], error: Error): Written {
  return { indexes, promises: indexes.map(() => Promise.resolve<Attempt>({ ok: false, error, retry: true })), giveUp: [] };
}

function returnKey(exchange: string, routingKey: string, id: string): string {
  return `${exchange}\u0000${routingKey}\u0000${id}`;
}

function describe(m: OutgoingMessage): string {
  return m.group !== undefined ? `group ${JSON.stringify(m.group)}` : `topic ${JSON.stringify(m.topic)}`;
}

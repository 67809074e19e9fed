/**
 * Declares (or, with `declare: false`, checks) what missive needs on the
 * broker, once per process per object: topic exchanges, group queues with
 * their bindings and dead-letter queues, and the delay levels of each
 * destination. Declarations run on a channel of their own, because a failed
 * passive check closes the channel it ran on.
 */
import { MAX_PRIORITY } from "../../envelope/expiry-priority.js";
import type { Channel, Options } from "amqplib";
import { ConfigurationError, isMissiveError } from "../../errors.js";
import { toAmqpError } from "./amqp-errors.js";
import {
  DELAY_DELIVER_EXCHANGE, DELAY_LEVELS, DELAY_UNIT_MS, deadLetterQueueOf, delayLevelExchange, delayLevelQueue, deliverPattern,
  levelQueuePattern, levelSkipPattern, levelsOf, nextExchangeAfter, type DelayDestination,
} from "./names.js";
import type { ResolvedRabbitmqOptions } from "./options.js";
import { LazyChannel } from "./lazy-channel.js";
import {
  membersQueueOf, partitionBindingPattern, partitionExchangeOf, partitionQueueOf, unpartitionedExchangeOf,
} from "./partition-names.js";
import { QueueProbe } from "./queue-probe.js";
import type { AmqpSession } from "./session.js";

/** Told what was declared, so the catalog (catalog.ts) can record it: AMQP cannot list queues. */
export interface TopologyHooks {
  onGroupDeclared(group: string, topics: readonly string[]): Promise<void>;
  onDelayDeclared(level: number, destination: DelayDestination): Promise<void>;
  onGroupPartitioned(group: string, partitions: number): Promise<void>;
}

/** Members queues expire this long after their last ordered subscription left. */
const MEMBERS_EXPIRE_MS = 3_600_000;

export class Topology {
  private readonly channel: LazyChannel<Channel>;
  private readonly done = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  /** Groups found partitioned (ordered) on the broker, and those found not to be, once per process. */
  private readonly partitioned = new Map<string, Promise<boolean>>();

  constructor(
    private readonly session: AmqpSession,
    private readonly options: ResolvedRabbitmqOptions,
    private readonly hooks?: TopologyHooks,
  ) {
    this.channel = new LazyChannel(session, (model) => model.createChannel());
  }

  /** A topic's exchange. */
  ensureExchange(topic: string): Promise<void> {
    return this.once(`x:${topic}`, async (ch) => {
      if (this.options.declare) await ch.assertExchange(topic, "fanout", { durable: true });
      else await this.check(() => ch.checkExchange(topic), `exchange ${JSON.stringify(topic)}`);
    });
  }

  /** A group's queue, its dead-letter queue, and its bindings to `topics`. A temporary group is exclusive to this connection. */
  async ensureGroup(group: string, topics: readonly string[], temporary: boolean): Promise<void> {
    for (const topic of topics) await this.ensureExchange(topic);
    if (temporary) {
      // Not cached: an exclusive queue dies with its connection and is declared again after a reconnect.
      const ch = await this.open();
      await this.run(async () => {
        await ch.assertQueue(group, { durable: false, exclusive: true, autoDelete: true, arguments: { "x-queue-type": "classic" } });
        for (const topic of topics) await ch.bindQueue(group, topic, "");
      });
      return;
    }
    await this.once(`g:${group}`, async (ch) => {
      if (this.options.declare) {
        await ch.assertQueue(group, { durable: true, arguments: this.groupQueueArguments() });
        await ch.assertQueue(deadLetterQueueOf(group), { durable: true, arguments: this.queueArguments() });
      } else {
        await this.check(() => ch.checkQueue(group), `queue ${JSON.stringify(group)}`);
        await this.check(() => ch.checkQueue(deadLetterQueueOf(group)), `queue ${JSON.stringify(deadLetterQueueOf(group))}`);
      }
    });
    // A group made ordered elsewhere takes its topics through its partitions, never straight into its queue.
    const partitioned = await this.isPartitioned(group);
    for (const topic of topics) {
      await this.once(`b:${group}\u0000${topic}`, async (ch) => {
        // Bindings cannot be checked passively over AMQP: without `declare` they are trusted to exist.
        if (!this.options.declare) return;
        if (partitioned) await ch.bindExchange(partitionExchangeOf(group), topic, "");
        else await ch.bindQueue(group, topic, "");
      });
    }
    await this.hooks?.onGroupDeclared(group, topics);
  }

  /** Whether `group` is an ordered group, split into partitions (its partition exchange exists). Asked once per process. */
  isPartitioned(group: string): Promise<boolean> {
    let known = this.partitioned.get(group);
    if (!known) {
      known = this.probe(async (p) => (await p.exchangeExists(partitionExchangeOf(group))));
      known.catch(() => this.partitioned.delete(group));
      this.partitioned.set(group, known);
    }
    return known;
  }

  /**
   * An ordered group (docs/adr/007-key-order-across-processes.md): its queue and dead-letter queue, its
   * partition queues (single active consumer) behind its partition exchange, which its topics feed
   * instead of its queue, and its members queue. Refused when the partitions exist in another number.
   */
  /**
   * The members queue counts live members, so it is not durable: a broker restart removes it, and every
   * (re)join declares it again (with `declare: false` an operator's `missive topology` must have made it).
   */
  async declareMembersQueue(ch: Channel, group: string): Promise<void> {
    if (!this.options.declare) return;
    await ch.assertQueue(membersQueueOf(group), { durable: false, arguments: { "x-queue-type": "classic", "x-expires": MEMBERS_EXPIRE_MS } });
  }

  async ensurePartitionedGroup(group: string, topics: readonly string[], partitions: number): Promise<void> {
    await this.ensureGroup(group, [], false);
    for (const topic of topics) await this.ensureExchange(topic);
    await this.once(`p:${group}`, async (ch) => {
      await this.checkPartitionCount(group, partitions);
      const px = partitionExchangeOf(group);
      if (!this.options.declare) {
        await this.check(() => ch.checkExchange(px), `exchange ${JSON.stringify(px)}`);
        for (let i = 0; i < partitions; i++) await this.check(() => ch.checkQueue(partitionQueueOf(group, i)), `queue ${JSON.stringify(partitionQueueOf(group, i))}`);
        return;
      }
      await ch.assertExchange(unpartitionedExchangeOf(group), "fanout", { durable: true });
      await ch.bindQueue(group, unpartitionedExchangeOf(group), "");
      await ch.assertExchange(px, "topic", { durable: true, alternateExchange: unpartitionedExchangeOf(group) });
      for (let i = 0; i < partitions; i++) {
        const queue = partitionQueueOf(group, i);
        await ch.assertQueue(queue, { durable: true, arguments: { ...this.queueArguments(), "x-single-active-consumer": true } });
        await ch.bindQueue(queue, px, partitionBindingPattern(i, partitions));
      }
      await this.declareMembersQueue(ch, group);
    });
    this.partitioned.set(group, Promise.resolve(true));
    for (const topic of topics) {
      await this.once(`pb:${group}\u0000${topic}`, async (ch) => {
        if (!this.options.declare) return;
        // Into the partitions first, then out of the group's queue: a message published in between
        // arrives twice (the inbox absorbs it), never not at all.
        await ch.bindExchange(partitionExchangeOf(group), topic, "");
        await ch.unbindQueue(group, topic, "");
      });
      this.forget(`b:${group}\u0000${topic}`);
    }
    await this.hooks?.onGroupDeclared(group, topics);
    await this.hooks?.onGroupPartitioned(group, partitions);
  }

  /** Every level queue a delay of `units` passes through for `destination`, and the shared level exchanges. */
  async ensureDelay(units: number, destination: DelayDestination): Promise<void> {
    await this.once("delay-infrastructure", (ch) => this.declareDelayInfrastructure(ch));
    if (destination.kind === "topic") await this.ensureExchange(destination.name);
    const dest = destination.kind === "group" ? `g:${destination.name}` : `t:${destination.name}`;
    await this.once(`d:${dest}`, async (ch) => {
      if (!this.options.declare) return;
      if (destination.kind === "topic") await ch.bindExchange(destination.name, DELAY_DELIVER_EXCHANGE, deliverPattern(destination));
      else await ch.bindQueue(destination.name, DELAY_DELIVER_EXCHANGE, deliverPattern(destination));
    });
    for (const level of levelsOf(units)) {
      await this.once(`l:${level}:${dest}`, async (ch) => {
        const queue = delayLevelQueue(level, destination);
        if (!this.options.declare) {
          await this.check(() => ch.checkQueue(queue), `delay queue ${JSON.stringify(queue)}`);
          return;
        }
        await ch.assertQueue(queue, { durable: true, arguments: this.levelArguments(level) });
        await ch.bindQueue(queue, delayLevelExchange(level), levelQueuePattern(level, destination));
      });
      await this.hooks?.onDelayDeclared(level, destination);
    }
  }

  /** Declare a destination's every delay level (for `missive topology`, so services can run with `declare: false`). */
  async ensureAllDelayLevels(destination: DelayDestination): Promise<void> {
    await this.ensureDelay(2 ** DELAY_LEVELS - 1, destination);
  }

  /** Remove a group's queue and dead-letter queue (temporary groups, tests). */
  async deleteGroup(group: string): Promise<void> {
    const ch = await this.open();
    await this.run(async () => {
      await ch.deleteQueue(group);
    });
    this.forget(`g:${group}`);
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  private queueArguments(): Options.AssertQueue["arguments"] {
    return { "x-queue-type": this.options.queueType };
  }

  /** A group's queue: with `priorities`, a priority queue of missive's ten levels (0–9). */
  private groupQueueArguments(): Options.AssertQueue["arguments"] {
    return this.options.priorities ? { "x-queue-type": this.options.queueType, "x-max-priority": MAX_PRIORITY } : this.queueArguments();
  }

  private levelArguments(level: number): Options.AssertQueue["arguments"] {
    const args: Record<string, unknown> = {
      "x-queue-type": this.options.queueType,
      "x-message-ttl": 2 ** level * DELAY_UNIT_MS,
      "x-dead-letter-exchange": nextExchangeAfter(level),
    };
    if (this.options.queueType === "quorum") {
      // Quorum queues dead-letter at-least-once only with this strategy (RabbitMQ ≥ 3.10), which needs reject-publish.
      args["x-dead-letter-strategy"] = "at-least-once";
      args["x-overflow"] = "reject-publish";
    }
    return args;
  }

  private async declareDelayInfrastructure(ch: Channel): Promise<void> {
    if (!this.options.declare) {
      await this.check(() => ch.checkExchange(DELAY_DELIVER_EXCHANGE), `exchange ${DELAY_DELIVER_EXCHANGE}`);
      return;
    }
    await ch.assertExchange(DELAY_DELIVER_EXCHANGE, "topic", { durable: true });
    for (let level = 0; level < DELAY_LEVELS; level++) await ch.assertExchange(delayLevelExchange(level), "topic", { durable: true });
    for (let level = 0; level < DELAY_LEVELS; level++) await ch.bindExchange(nextExchangeAfter(level), delayLevelExchange(level), levelSkipPattern(level));
  }

  /** Run `work` once per key per process; concurrent callers share the run, a failure lets the next caller try again. */
  private async once(key: string, work: (ch: Channel) => Promise<void>): Promise<void> {
    if (this.done.has(key)) return;
    let running = this.running.get(key);
    if (!running) {
      running = (async () => {
        const ch = await this.open();
        await this.run(() => work(ch));
        this.done.add(key);
      })().finally(() => this.running.delete(key));
      this.running.set(key, running);
    }
    await running;
  }

  /** Partitions exist in this number, or not at all: another number would split keys between two layouts. */
  private async checkPartitionCount(group: string, partitions: number): Promise<void> {
    const found = await this.probe(async (p) => {
      if (!(await p.info(partitionQueueOf(group, 0)))) return undefined;
      if (await p.info(partitionQueueOf(group, partitions))) return "more";
      return (await p.info(partitionQueueOf(group, partitions - 1))) ? undefined : "fewer";
    });
    if (found !== undefined) {
      throw new ConfigurationError(
        `rabbitmq: ordered group ${JSON.stringify(group)} already has ${found} than ${partitions} partitions; ` +
        "keep the transport's `partitions` as it was, or migrate the group (docs/transports/rabbitmq.md, \"Ordered groups\")",
      );
    }
  }

  private async probe<T>(work: (probe: QueueProbe) => Promise<T>): Promise<T> {
    const probe = new QueueProbe(this.session);
    try {
      return await work(probe);
    } finally {
      await probe.close();
    }
  }

  private forget(key: string): void {
    this.done.delete(key);
  }

  private async run(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      // A channel error (404, 406, 403) closes the channel: the next declaration opens a new one.
      this.channel.forget();
      throw isMissiveError(err) ? err : toAmqpError(err, "rabbitmq: declaring the topology failed");
    }
  }

  private async check(probe: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await probe();
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) {
        throw new ConfigurationError(`rabbitmq: ${what} does not exist, and this transport runs with \`declare: false\`; declare it with \`missive topology\` (or let the service declare it)`, { cause: err });
      }
      throw err;
    }
  }

  private open(): Promise<Channel> {
    return this.channel.get();
  }
}

/**
 * The subscription of an ordered group (`ordered: true`), which keeps key
 * order across every consumer process of the group (ADR 007): the group's
 * keys are hashed onto partition queues (partition-names.ts), and each
 * partition is consumed by one connection at a time: the one holding its
 * lock, with single active consumer on the queue as the backstop. Every
 * ordered subscription counts the group's members and owns its fair share of
 * partitions, taking free ones and handing surplus ones over (a partition
 * leaves only once nothing of it is unsettled here, so the next owner starts
 * where this one stopped); a lock another connection still holds is tried
 * again with backoff, and a long wait reported (partition-lock-wait.ts). Within the subscription, at most one message per
 * key is handed out at a time, and a retry of a keyed message is held here
 * through its delay (the message stays unacked, so later messages of its key
 * wait behind it, here or, after a crash, in its partition queue). Unkeyed
 * messages, retries of unkeyed messages (through the delay levels) and
 * replays come through the group's own queue, which every member drains.
 */
import { deliveredTopic } from "./delivered-topic.js";
import type { Channel } from "amqplib";
import { ClosedError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { sleep } from "../../runtime/backoff.js";
import type { Delivery, OutgoingMessage, PublishResult, SubscribeOptions, Subscription } from "../../transport/transport.js";
import { ATTEMPTS_HEADER } from "./amqp-headers.js";
import { RabbitmqDelivery, type DeliveryHost } from "./delivery.js";
import { DIRECT_REPLY_TO } from "./names.js";
import { PartitionSource, type Buffered } from "./partition-source.js";
import { claimShare } from "./partition-claims.js";
import { PartitionLockWait } from "./partition-lock-wait.js";
import { membersQueueOf, partitionLockOf, partitionQueueOf } from "./partition-names.js";
import { QueueProbe } from "./queue-probe.js";
import type { SubscriptionDeps } from "./subscription.js";
import { enqueuedAtOf, type StatusSource, type UnsettledSnapshot } from "./status-reporter.js";
import { WakeList } from "./wake-list.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

/** How often a member re-counts the group and takes or hands over partitions (jittered ±25%). */
const BALANCE_MS = 1000;
const SHUTDOWN_SETTLE_MS = 5000;

export interface OrderedSubscriptionDeps extends Omit<SubscriptionDeps, "onFinished"> {
  readonly partitions: number;
  /** Partitions owned by subscriptions of this process (`group\0index`): the lock is per connection, so it cannot tell them apart. */
  readonly claims: Set<string>;
  readonly onFinished: (s: OrderedSubscription) => void;
}

/** A keyed retry held through its delay: its message stays unacked, its key busy. */
interface HeldRetry {
  readonly source: PartitionSource;
  readonly timer: NodeJS.Timeout;
}

/** A retry whose delay is over, waiting to be handed out. */
interface DueRetry {
  readonly delivery: RabbitmqDelivery;
  readonly source: PartitionSource;
}

/** What holds a key: a delivery handed out, a retry waiting out its delay, or (briefly) a message being handed out of a source. */
type KeyHolder = RabbitmqDelivery | HeldRetry | PartitionSource;

export class OrderedSubscription implements Subscription, DeliveryHost, StatusSource {
  private readonly sources = new Map<Channel, PartitionSource>();

  /** The transport's logger (the bus's, once connected). */
  get log(): Logger {
    return this.deps.session.context.log;
  }

  /** Owned partitions, by index. */
  private readonly owned = new Map<number, PartitionSource>();
  private base: PartitionSource | undefined;
  private baseOpening: Promise<void> | undefined;
  private members: Channel | undefined;
  /** Handed out and unsettled, with the source each came from. */
  private readonly held = new Map<RabbitmqDelivery, PartitionSource>();
  /** Key → what holds it: a delivery handed out, or a retry waiting out its delay. */
  private readonly busy = new Map<string, KeyHolder>();
  private readonly retries = new Set<HeldRetry>();
  /** Retries whose delay is over, handed out before anything else. */
  private readonly due: DueRetry[] = [];
  private readonly waiters = new WakeList();
  private readonly settling = new Set<Promise<unknown>>();
  private closed = false;
  private finished = false;
  private balancer: NodeJS.Timeout | undefined;
  private balancing: Promise<void> | undefined;
  private rejoining = false;
  /** Partitions of this member's share whose locks another connection holds: retried with backoff, reported. */
  private readonly lockWait: PartitionLockWait;
  private lockRetry: NodeJS.Timeout | undefined;
  private readonly offSession: () => void;
  private arrivals = 0;

  constructor(
    private readonly deps: OrderedSubscriptionDeps,
    readonly options: SubscribeOptions,
  ) {
    this.lockWait = new PartitionLockWait(deps.session.context, options.group);
    const offReconnect = deps.session.onReconnect(() => void this.rejoin());
    const offLost = deps.session.onLost(() => {
      for (const source of [...this.sources.values()]) this.lost(source);
      this.members = undefined;
    });
    this.offSession = () => {
      offReconnect();
      offLost();
    };
  }

  async start(): Promise<void> {
    await this.deps.topology.ensurePartitionedGroup(this.options.group, this.options.topics, this.deps.partitions);
    await this.join();
    this.schedule();
  }

  get heldCount(): number {
    return this.held.size;
  }

  unsettled(): UnsettledSnapshot {
    let oldestAt: number | undefined;
    let count = 0;
    for (const source of this.sources.values()) {
      count += source.buffer.length + source.outstanding;
      for (const b of source.buffer) oldestAt = Math.min(oldestAt ?? Number.POSITIVE_INFINITY, enqueuedAtOf(b.pushed.message));
    }
    for (const d of this.held.keys()) oldestAt = Math.min(oldestAt ?? Number.POSITIVE_INFINITY, d.enqueuedAt);
    // Several queues feed it, so spare prefetch says nothing about any one of them being empty.
    return { group: this.options.group, count, oldestAt, spare: false, arrivals: this.arrivals };
  }

  async receive(max: number, waitMs: number): Promise<Delivery[]> {
    if (this.deps.session.isClosed) throw new ClosedError("the rabbitmq transport is closed");
    const limit = Math.floor(max);
    if (!(limit >= 1) || this.closed) return [];
    const deadline = Date.now() + (Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 0);
    for (;;) {
      const out = await this.take(limit);
      if (out.length > 0 || this.closed) return out;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.waiters.wait(left);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopBalancing();
    this.waiters.wake();
    await Promise.all([...this.sources.values()].map((s) => s.stopConsuming()));
    // Retries waiting out a delay stay unacked: leaving returns them to their queue, first of their key.
    for (const r of this.retries) clearTimeout(r.timer);
    this.retries.clear();
    this.due.length = 0;
    this.finishIfIdle();
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.stopBalancing();
    this.waiters.wake();
    if (this.settling.size > 0 && !this.deps.session.isClosed) {
      await Promise.race([Promise.allSettled([...this.settling]), sleep(SHUTDOWN_SETTLE_MS)]);
    }
    for (const r of this.retries) clearTimeout(r.timer);
    this.retries.clear();
    for (const d of [...this.held.keys()]) d.abandon();
    await this.leaveAll();
  }

  // DeliveryHost
  isLive(channel: Channel): boolean {
    return this.sources.has(channel);
  }

  publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    return this.deps.publish(batch);
  }

  settled(delivery: RabbitmqDelivery): void {
    const source = this.held.get(delivery);
    if (!source) return;
    this.held.delete(delivery);
    if (delivery.key !== undefined && this.busy.get(delivery.key) === delivery) this.busy.delete(delivery.key);
    source.outstanding--;
    this.waiters.wake();
    if (source.draining && source.outstanding === 0) void this.leave(source);
    if (this.closed) this.finishIfIdle();
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.settling.add(work);
    const forget = (): void => void this.settling.delete(work);
    work.then(forget, forget);
    return work;
  }

  noteRelease(delivery: RabbitmqDelivery): Promise<void> {
    return this.deps.ledger.noteRelease(this.options.group, delivery.messageId, delivery.priorDeliveries);
  }

  /**
   * A keyed delivery failed and is retried after `delayMs`: its message stays unacked and its key busy, so
   * nothing later of the key is handed out meanwhile; then the same message comes out again with `headers`.
   */
  holdRetry(delivery: RabbitmqDelivery, delayMs: number, headers: Readonly<Record<string, string>>): void {
    const source = this.held.get(delivery);
    const key = delivery.key;
    if (!source || key === undefined) return;
    source.outstanding++;
    const retry: HeldRetry = {
      source,
      timer: setTimeout(() => {
        this.retries.delete(retry);
        if (!this.sources.has(source.channel) || this.closed) return;
        const again = new RabbitmqDelivery(this, delivery.pushedMessage, delivery.topic, delivery.group,
          { headers: { ...headers, [ATTEMPTS_HEADER]: String(delivery.priorDeliveries + 1) }, body: delivery.wire.body },
          key, delivery.attempt + 1, delivery.priorDeliveries + 1, delivery.enqueuedAt);
        this.due.push({ delivery: again, source });
        this.waiters.wake();
      }, Math.max(0, delayMs)),
    };
    // The retry holds the key before the delivery's own settle frees it.
    this.busy.set(key, retry);
    this.retries.add(retry);
  }

  /**
   * A released delivery is deliverable again at once, first of its key, and its attempt is not counted
   * (the seam's promise): the same unacked message is handed out again from here. A nack would do it on a
   * classic queue, but a quorum queue puts a requeued message behind later ones of its key. Once closing,
   * it stays unacked instead, and the channel's close returns it to its queue in order.
   */
  holdRelease(delivery: RabbitmqDelivery): void {
    const source = this.held.get(delivery);
    if (!source || this.closed || !this.sources.has(source.channel)) return;
    source.outstanding++;
    // The key stays busy (not with `delivery`, whose own settle would free it) until the copy is handed out.
    if (delivery.key !== undefined) this.busy.set(delivery.key, source);
    const again = new RabbitmqDelivery(this, delivery.pushedMessage, delivery.topic, delivery.group, delivery.wire,
      delivery.key, delivery.attempt, delivery.priorDeliveries, delivery.enqueuedAt);
    this.due.push({ delivery: again, source });
    this.waiters.wake();
  }

  /** Up to `limit` deliveries: due retries first, then each source's buffer in order, skipping busy keys. */
  private async take(limit: number): Promise<Delivery[]> {
    const out: Delivery[] = [];
    while (out.length < limit && this.due.length > 0) {
      const { delivery, source } = this.due.shift()!;
      // The retry's count in `outstanding` passes to the delivery handed out.
      source.outstanding--;
      out.push(this.handOut(delivery, source));
    }
    // A key passed over once stays passed over for the rest of this pass: its holder may settle while a
    // ledger read below yields, and the key's next message would then be taken ahead of the one kept.
    const passedOver = new Set<string>();
    for (const source of this.sources.values()) {
      if (out.length >= limit) break;
      if (source.draining || source.buffer.length === 0) continue;
      const buffer = source.buffer;
      let kept = 0;
      for (let i = 0; i < buffer.length; i++) {
        const b = buffer[i]!;
        const free = b.key === undefined || (!this.busy.has(b.key) && !passedOver.has(b.key));
        if (out.length < limit && free) out.push(await this.deliveryOf(b, source));
        else {
          if (b.key !== undefined) passedOver.add(b.key);
          buffer[kept++] = b;
        }
      }
      buffer.length = kept;
    }
    return out;
  }

  private handOut(d: RabbitmqDelivery, source: PartitionSource): RabbitmqDelivery {
    this.held.set(d, source);
    source.outstanding++;
    if (d.key !== undefined) this.busy.set(d.key, d);
    return d;
  }

  private async deliveryOf(b: Buffered, source: PartitionSource): Promise<RabbitmqDelivery> {
    const { pushed, incoming } = b;
    const message = pushed.message;
    // The key is busy before the ledger read below yields, so no other take hands out its next message.
    if (b.key !== undefined) this.busy.set(b.key, source);
    const returns = incoming.deliveryCount ?? (message.fields.redelivered ? 1 : 0);
    const id = incoming.headers["ce-id"] ?? (typeof message.properties.messageId === "string" ? message.properties.messageId : "");
    // Read from the ledger as of its arrival: every redelivery that arrived before one barrier shares that barrier,
    // instead of one round trip each (a broker restart redelivers the whole prefetch of every partition at once).
    const released = returns > 0 ? await this.deps.ledger.releasesOf(this.options.group, id, incoming.carriedAttempts, incoming.carriedAttempts + returns, b.arrivedAt) : 0;
    const prior = incoming.carriedAttempts + returns - released;
    const headers = incoming.headers;
    const replyTo = message.properties.replyTo as unknown;
    if (typeof replyTo === "string" && replyTo.startsWith(DIRECT_REPLY_TO + ".")) headers["ce-replyto"] = replyTo;
    const body = incoming.body;
    const d = new RabbitmqDelivery(this, pushed, deliveredTopic(this.options.topics, message.fields.exchange, headers), this.options.group, { headers, body }, b.key, prior + 1, prior, enqueuedAtOf(message));
    return this.handOut(d, source);
  }

  /** Join the group: the members queue (so others count this one), the group's own queue, then a first share of partitions. */
  private async join(): Promise<void> {
    const { model } = await this.deps.session.connection();
    const members = await model.createChannel();
    logChannelErrors(members, this, "ordered group members");
    // Gone after a broker restart (it is not durable): declared again on every join.
    await this.deps.topology.declareMembersQueue(members, this.options.group);
    await members.consume(membersQueueOf(this.options.group), () => undefined, { noAck: true });
    // One members consumer per subscription, or the group's count (and so every member's share) is wrong.
    const previous = this.members;
    this.members = members;
    if (previous) await closeChannel(previous, this, "ordered group members");
    await this.ensureBase();
    await this.balance();
  }

  /**
   * Join again after a reconnect, one rejoin at a time: a connection lost again while a join runs makes
   * the running loop join once more, and the reconnect that follows must not start a second join beside
   * it. Two joins made two members consumers of this one subscription, so it counted itself twice, took
   * half its share and left the other partitions unconsumed for good (the cluster fault test, issue 15).
   */
  private rejoin(): void {
    if (this.closed || this.rejoining) return;
    this.rejoining = true;
    void (async () => {
      try {
        for (let attempt = 1; !this.closed && !this.deps.session.isClosed && !this.members; attempt++) {
          try {
            await this.join();
          } catch (err) {
            this.log.warn({ err, group: this.options.group }, "rejoining an ordered group failed; retrying");
            await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
          }
        }
      } finally {
        // Synchronously after the loop's last check: a reconnect reported later starts a rejoin of its own.
        this.rejoining = false;
      }
    })();
  }

  /**
   * Consume the group's own queue (no lock) unless it is consumed or being opened: on joining, after its
   * channel was lost, and on every balance (so a failed opening is tried again).
   */
  private ensureBase(): Promise<void> {
    if (this.base || this.closed || !this.members || this.deps.session.isClosed) return Promise.resolve();
    this.baseOpening ??= this.open(this.options.group, undefined)
      .then((source) => {
        if (source instanceof PartitionSource) this.base = source;
      }, (err: unknown) => this.log.warn({ err, group: this.options.group }, "consuming the group's queue failed; the next balance tries again"))
      .finally(() => (this.baseOpening = undefined));
    return this.baseOpening;
  }

  /** Consume `queue` (with its lock, for a partition); "locked" when another connection holds the lock, undefined when closed meanwhile. */
  private async open(queue: string, partition: number | undefined): Promise<PartitionSource | "locked" | undefined> {
    const lock = partition === undefined ? undefined : partitionLockOf(this.options.group, partition);
    const source = await PartitionSource.open(this.deps.session, queue, partition, lock, this.options.prefetch, {
      pushed: () => {
        this.arrivals++;
        this.waiters.wake();
      },
      lost: (s) => this.lost(s),
    });
    if (source === "locked") return source;
    // Its channel died between the consume and here: its 'lost' found nothing registered, and registered now
    // it would stay owned and silent for good (a partition nobody consumed after a broker restart).
    if (source.channelClosed) return undefined;
    if (this.closed) {
      await source.leave();
      return undefined;
    }
    this.sources.set(source.channel, source);
    if (partition !== undefined) this.owned.set(partition, source);
    return source;
  }

  /** Count the members, then take free partitions up to this one's share, or hand over what is above it. */
  private balance(): Promise<void> {
    if (!this.balancing) {
      this.balancing = this.rebalance().finally(() => (this.balancing = undefined));
    }
    return this.balancing;
  }

  private async rebalance(): Promise<void> {
    if (this.closed || !this.members) return;
    await this.ensureBase();
    const { group } = this.options;
    const n = this.deps.partitions;
    const probe = new QueueProbe(this.deps.session);
    let count: number;
    try {
      count = Math.max(1, (await probe.info(membersQueueOf(group)))?.consumerCount ?? 1);
    } finally {
      await probe.close();
    }
    const share = Math.ceil(n / count);
    const active = [...this.owned.values()].filter((s) => !s.draining);
    if (active.length > share) {
      this.lockWait.end();
      // Hand over the surplus: each leaves once nothing of it is unsettled here.
      for (const source of active.slice(share)) {
        source.draining = true;
        if (source.outstanding === 0) void this.leave(source);
      }
      return;
    }
    const refused = await claimShare({
      group, partitions: n, claims: this.deps.claims, owned: this.owned, log: this.log,
      open: (index) => this.open(partitionQueueOf(group, index), index),
      mayClaim: () => !this.closed && this.lockWait.due(),
    }, share);
    if (this.closed) return;
    const retryIn = this.lockWait.passed(refused, this.owned.size < share);
    // Sooner than the next balance while the backoff is short, so a freed lock is taken at once.
    if (retryIn !== undefined && this.lockRetry === undefined) {
      this.lockRetry = setTimeout(() => {
        this.lockRetry = undefined;
        void this.balance().catch((err: unknown) => this.log.warn({ err, group }, "balancing partitions failed; trying again"));
      }, retryIn);
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.balancer = setTimeout(() => {
      void this.balance()
        .catch((err: unknown) => this.log.warn({ err, group: this.options.group }, "balancing partitions failed; trying again"))
        .finally(() => this.schedule());
    }, BALANCE_MS * (0.75 + Math.random() / 2));
  }

  private stopBalancing(): void {
    clearTimeout(this.balancer);
    this.balancer = undefined;
    clearTimeout(this.lockRetry);
    this.lockRetry = undefined;
  }

  /** A source's channel died: the broker has its unsettled messages back; the balancer claims partitions again. */
  private lost(source: PartitionSource): void {
    if (!this.sources.delete(source.channel)) return;
    if (!this.closed) this.log.warn({ group: this.options.group, queue: source.queue }, "an ordered subscription lost a channel; its unsettled messages go back to their queue");
    source.dropped();
    this.forgetSource(source);
    for (const [d, s] of [...this.held]) if (s === source) d.abandon();
    if (source.partition === undefined && !this.closed) {
      this.base = undefined;
      void sleep(200).then(() => this.ensureBase());
    }
    if (this.closed) this.finishIfIdle();
  }

  private forgetSource(source: PartitionSource): void {
    if (source.partition !== undefined) {
      if (this.owned.get(source.partition) === source) this.owned.delete(source.partition);
      this.deps.claims.delete(`${this.options.group}\u0000${source.partition}`);
    }
    for (const r of [...this.retries]) {
      if (r.source !== source) continue;
      clearTimeout(r.timer);
      this.retries.delete(r);
    }
    for (const [key, holder] of [...this.busy]) {
      const from = holder instanceof RabbitmqDelivery ? this.held.get(holder) : holder instanceof PartitionSource ? holder : holder.source;
      if (from === source) this.busy.delete(key);
    }
    for (let i = this.due.length - 1; i >= 0; i--) if (this.due[i]!.source === source) this.due.splice(i, 1);
    this.waiters.wake();
  }

  private async leave(source: PartitionSource): Promise<void> {
    if (!this.sources.delete(source.channel)) return;
    this.forgetSource(source);
    await source.leave();
  }

  private async leaveAll(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => this.leave(s)));
    const members = this.members;
    this.members = undefined;
    await closeChannel(members, this, "ordered group members");
  }

  private finishIfIdle(): void {
    if (!this.closed || this.finished || this.held.size > 0) return;
    this.finished = true;
    this.offSession();
    void this.leaveAll().finally(() => this.deps.onFinished(this));
  }
}

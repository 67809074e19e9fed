/**
 * A group's subscription: one durable pull consumer per stream it reads
 * (each topic's stream, and the group's own stream), pulled by hand with
 * `$JS.API.CONSUMER.MSG.NEXT` requests into one inbox. Pulls ask for no
 * more than the room left under `prefetch` (MaxAckPending is the group's,
 * shared by every process, so it cannot be one process's prefetch), and
 * are short (≤ 5 s): a pull lost across a reconnect, or a 409 for a
 * consumer deleted on the server, ends it, and the next receive pulls
 * again (recreating the consumer). Held deliveries get `+WPI` every
 * `leaseMs / 3`, so a live holder keeps them and a dead one loses them
 * after the ack wait (`leaseMs`).
 */
import type { Msg, NatsConnection, Subscription as NatsSub } from "@nats-io/nats-core";
import { createInbox } from "@nats-io/nats-core";
import type { ContextSlot } from "../../transport/context.js";
import { reasonOf } from "../../transport/context.js";
import type { Delivery, Subscription } from "../../transport/transport.js";
import { AckFlusher } from "./ack-flusher.js";
import { parseAckSubject, type AckInfo } from "./ack-subject.js";
import { NatsDelivery, type DeliveryHost } from "./delivery.js";
import type { NatsDeadLetterStore } from "./dead-letter-store.js";
import { fromNatsMessage } from "./headers.js";

/** One stream the group reads, and how to (re)create its consumer. */
export interface PullSource {
  readonly stream: string;
  readonly consumer: string;
  /** The topic of a topic stream; undefined for the group's own stream (the topic is in a header). */
  readonly topic: string | undefined;
  /** Make the consumer (and its stream) if missing; true when it had to be made. */
  ensure(): Promise<boolean>;
  /** An ordered group's partition this consumer reads (ADR 012); undefined for a consumer every member shares. */
  readonly partition?: number;
}

/**
 * What an ordered subscription adds (ordered-gate.ts, ADR 012): which sources it may pull now (partitions it owns,
 * not fenced), which arrivals it keeps, and which buffered deliveries it hands out (one per key at a time).
 */
export interface OrderGate {
  mayPull(source: PullSource): boolean;
  /** Deliveries the server has out of this source that must reach this subscription before it hands any out: pulled even past prefetch. */
  owed(source: PullSource): number;
  /** False: drop the arrival unsettled (the server redelivers it after its ack wait). */
  admit(source: PullSource, d: NatsDelivery): boolean;
  /** Take up to `room` deliveries out of `buffer` to hand out; may also drop deliveries of partitions no longer owned. */
  pick(buffer: NatsDelivery[], held: ReadonlySet<NatsDelivery>, room: number): NatsDelivery[];
  /** Still renew this delivery's lease (its partition is still owned). */
  renewable(d: NatsDelivery): boolean;
  /** Give back in place (a nak) rather than as a copy at the end of the group's stream, which later messages of its key would overtake. */
  releasesInPlace(d: NatsDelivery): boolean;
  /** Naks of this message by releasesInPlace here so far: JetStream counts them, the attempt must not. */
  released(info: AckInfo): number;
  /** The connection dropped: hand out and pull nothing of the partitions until reconnected() has counted what was lost. */
  disconnected(): void;
  reconnected(): void;
  /** The subscription closed; `clean`: nothing is held, everything pulled was given back in place. */
  close(clean: boolean): Promise<void>;
}

/** Where pulls and arrivals of a source are kept: one consumer on one stream. */
function sourceKey(stream: string, consumer: string): string {
  return `${stream}.${consumer}`;
}

interface Pull {
  readonly id: number;
  remaining: number;
  readonly endsAt: number;
}

/** The longest a pull request stays open on the server, ms (a partition being given back waits it out: partition-owner.ts). */
export const PULL_MAX_MS = 5_000;
const SETTLE_TIMEOUT_MS = 5_000;
/** How often an ordered subscription looks at its buffer again while waiting (fences end by the clock). */
const GATE_RECHECK_MS = 200;

export class NatsSubscription implements Subscription, DeliveryHost {
  private readonly inbox = createInbox();
  private readonly sub: NatsSub;
  /** Open pulls per source (sourceKey), oldest first (the server fills them in order). */
  private readonly pulls = new Map<string, Pull[]>();
  /** Each source and its key by stream, then consumer: an arrival finds its source without building a string. */
  private readonly byStream = new Map<string, Map<string, { readonly source: PullSource; readonly key: string }>>();
  private readonly buffer: NatsDelivery[] = [];
  private readonly held = new Set<NatsDelivery>();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly acks: AckFlusher;
  private wake: (() => void) | undefined;
  private nextPull = 1;
  private closed = false;
  private lastPullEnds = 0;
  /** Give-backs that failed: an ordered close is then not clean (the next owner waits out the ack wait). */
  private releaseFailed = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly sources: readonly PullSource[],
    readonly group: string,
    private readonly prefetch: number,
    leaseMs: number,
    private readonly context: ContextSlot,
    private readonly connection: { readonly live: boolean },
    private readonly onClose: (sub: NatsSubscription) => Promise<void>,
    private readonly deadLetters: NatsDeadLetterStore,
    private readonly copy: (d: NatsDelivery, attemptsBefore: number) => Promise<void>,
    private readonly gate?: OrderGate,
  ) {
    for (const s of sources) {
      const key = sourceKey(s.stream, s.consumer);
      this.pulls.set(key, []);
      let consumers = this.byStream.get(s.stream);
      if (consumers === undefined) this.byStream.set(s.stream, (consumers = new Map()));
      consumers.set(s.consumer, { source: s, key });
    }
    this.acks = new AckFlusher(nc, SETTLE_TIMEOUT_MS);
    this.sub = nc.subscribe(`${this.inbox}.>`, { callback: (err, msg) => this.onMessage(err, msg) });
    this.renewTimer = setInterval(() => this.renew(), Math.max(50, Math.floor(leaseMs / 3)));
    this.renewTimer.unref();
  }

  get live(): boolean {
    return this.connection.live;
  }

  async receive(max: number, waitMs: number): Promise<Delivery[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.closed) return [];
      const room = Math.min(max, this.prefetch - this.held.size);
      if (room > 0 && this.buffer.length > 0) {
        const out = this.gate === undefined ? this.buffer.splice(0, room) : this.gate.pick(this.buffer, this.held, room);
        for (const d of out) this.held.add(d);
        if (out.length > 0) return out;
      }
      const left = deadline - Date.now();
      if (left <= 0) return [];
      this.pull(left);
      // Ordered: the buffer may hold only passed-over keys or fenced partitions, which a settle or the clock frees.
      const nap = this.gate !== undefined ? GATE_RECHECK_MS : PULL_MAX_MS;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, nap));
        // Once: every arrival of a socket read calls it, and one wake-up serves them all.
        this.wake = () => {
          this.wake = undefined;
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    // Pulls still open on the server may yet deliver here: keep the inbox until they end, giving back what comes.
    const linger = Math.max(0, this.lastPullEnds - Date.now());
    if (this.gate !== undefined) {
      // Ordered: what was pulled and what still arrives is kept (leases renewed) and given back only once no pull can
      // deliver here, all in place (naks): a nak sooner would come straight back into a pull still open, one attempt
      // more each time. The partitions go to the next owner only then; free entries only when nothing is held either.
      if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger + 200));
      clearInterval(this.renewTimer);
      this.sub.unsubscribe();
      await Promise.all(this.buffer.splice(0).map((d) => this.giveBack(d)));
      await this.gate.close(this.held.size === 0 && this.releaseFailed === 0);
    } else {
      clearInterval(this.renewTimer);
      // What was pulled but never handed out goes back at once.
      await Promise.all(this.buffer.splice(0).map((d) => this.giveBack(d)));
      if (linger === 0) this.sub.unsubscribe();
      else setTimeout(() => this.sub.unsubscribe(), linger + 200).unref();
    }
    await this.onClose(this);
  }

  settle(ackSubject: string, body: string): Promise<void> {
    return this.acks.send(ackSubject, body);
  }

  ackFor(d: NatsDelivery): Promise<void> {
    return this.acks.sendFor(d.ackSubject, "+ACK", d);
  }

  requeue(d: NatsDelivery, attemptsBefore: number): Promise<void> {
    return this.copy(d, attemptsBefore);
  }

  storeDeadLetter(d: NatsDelivery, headers: Readonly<Record<string, string>>): Promise<void> {
    return this.deadLetters.add(d.group, d.topic, headers, d.wire.body);
  }

  done(delivery: NatsDelivery): void {
    this.held.delete(delivery);
    this.wake?.();
  }

  /** Deliveries handed out and not settled (stats, close). */
  get heldCount(): number {
    return this.held.size;
  }

  /**
   * The connection dropped. Ordered: its partitions are held still from now, not from the reconnect's status event,
   * which the client reports only after the new connection is up: a pull the server kept across the drop may deliver
   * later messages of a lost one's key in between.
   */
  disconnected(): void {
    this.gate?.disconnected();
  }

  /** After a reconnect the server may have dropped our pulls: forget them so the next receive pulls again. */
  forgetPulls(): void {
    for (const key of this.pulls.keys()) this.pulls.set(key, []);
    this.gate?.reconnected();
    this.wake?.();
  }

  /** Look at the buffer and the sources again now (an ordered group's ownership changed). */
  poke(): void {
    this.wake?.();
  }

  releasesInPlace(d: NatsDelivery): boolean {
    return this.gate?.releasesInPlace(d) ?? false;
  }

  /**
   * Ask each stream for what room is left under `prefetch` (held, buffered and already asked for counted). A
   * stream with pulls open is asked again only once a quarter of the prefetch is free, so a steady consumer
   * pulls in batches, not one round trip per settled message.
   */
  private pull(waitMs: number): void {
    const now = Date.now();
    for (const source of this.sources) {
      if (this.gate !== undefined && !this.gate.mayPull(source)) continue;
      const key = sourceKey(source.stream, source.consumer);
      let open = this.pulls.get(key) ?? [];
      if (open.some((p) => p.endsAt + 1_000 <= now)) {
        open = open.filter((p) => p.endsAt + 1_000 > now);
        this.pulls.set(key, open);
        // A pull the server never ended (no 408): lost across a reconnect, or sent to a consumer that no longer
        // exists (the server answers such pulls with nothing at all). Make sure the consumer is there.
        this.recreate(key, false);
      }
      const asked = open.reduce((n, p) => n + p.remaining, 0);
      // What an ordered partition owes comes first from the server's redelivery queue: asked for even past prefetch
      // (buffered up to twice prefetch), or a full buffer of later messages would wait for it for ever.
      const owed = this.gate === undefined || this.buffer.length >= 2 * this.prefetch ? 0 : this.gate.owed(source) - asked;
      const batch = Math.max(this.prefetch - this.held.size - this.buffer.length - asked, owed);
      if (batch <= 0 || (open.length > 0 && batch < Math.ceil(this.prefetch / 4))) continue;
      const expiresMs = Math.max(100, Math.min(waitMs, PULL_MAX_MS));
      const pull: Pull = { id: this.nextPull++, remaining: batch, endsAt: now + expiresMs };
      open.push(pull);
      this.lastPullEnds = Math.max(this.lastPullEnds, pull.endsAt);
      const request = JSON.stringify({ batch, expires: expiresMs * 1_000_000 });
      try {
        this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${source.stream}.${source.consumer}`, request, { reply: `${this.inbox}.${key}.${pull.id}` });
      } catch (err) {
        // A closed or draining connection: the receive times out and the bus sees the connection's own report.
        this.endPull(key, pull.id);
        this.context.log.warn({ err, group: this.group, stream: source.stream }, "nats: a pull request could not be sent");
      }
    }
  }

  private endPull(key: string, id: number): void {
    const open = this.pulls.get(key);
    if (open !== undefined) this.pulls.set(key, open.filter((p) => p.id !== id));
  }

  private onMessage(err: Error | null, msg: Msg): void {
    if (err !== null) {
      this.context.log.error({ err, group: this.group }, "nats: the subscription's inbox failed");
      return;
    }
    const info = msg.reply === undefined ? undefined : parseAckSubject(msg.reply);
    if (info === undefined) {
      this.onStatus(msg);
      return;
    }
    const known = this.byStream.get(info.stream)?.get(info.consumer);
    const key = known?.key ?? sourceKey(info.stream, info.consumer);
    const source = known?.source;
    const pull = this.pulls.get(key)?.[0];
    if (pull !== undefined && --pull.remaining <= 0) this.endPull(key, pull.id);
    const { headers, topic, attemptsBefore } = fromNatsMessage(msg);
    const released = this.gate?.released(info) ?? 0;
    const delivery = new NatsDelivery(source?.topic ?? topic ?? "", this.group, { headers, body: msg.data }, headers["ce-key"], msg.reply ?? "", { deliveries: info.deliveries, storedAt: info.storedAt, streamSeq: info.streamSeq, attemptsBefore: attemptsBefore - released }, this);
    // Ordered: an arrival from a partition not owned or fenced is dropped unsettled; it comes back after its ack wait.
    // Closing, it is admitted and kept all the same: close() gives it back in place, not as a copy any member reads.
    if (this.gate !== undefined && source !== undefined && !this.gate.admit(source, delivery)) return;
    if (this.closed && this.gate === undefined) {
      void this.giveBack(delivery);
      return;
    }
    this.buffer.push(delivery);
    this.wake?.();
  }

  /** A pull's end (404 no messages, 408 expired, 409 limits or a deleted consumer) or a heartbeat (100). */
  private onStatus(msg: Msg): void {
    const [, streamToken, consumerToken, idToken] = msg.subject.slice(this.inbox.length).split(".");
    const code = msg.headers?.code ?? 0;
    if (code === 100) return;
    const key = streamToken === undefined || consumerToken === undefined ? undefined : sourceKey(streamToken, consumerToken);
    if (key !== undefined) this.endPull(key, Number(idToken));
    if (code === 409 && /consumer (deleted|not found)/i.test(msg.headers?.description ?? "")) this.recreate(key, true);
    else if (code !== 404 && code !== 408 && code !== 409) {
      this.context.log.warn({ group: this.group, code, description: msg.headers?.description }, "nats: unexpected status on a pull");
    }
    this.wake?.();
  }

  /**
   * The consumer was deleted on the server (by an operator, or lost), or may have been (`known` false: a pull went
   * unanswered): make it again if missing, so the group is not stuck.
   */
  private recreate(key: string | undefined, known: boolean): void {
    const source = this.sources.find((s) => sourceKey(s.stream, s.consumer) === key);
    if (source === undefined || this.closed) return;
    if (known) this.context.report({ kind: "subscription", group: this.group, state: "failing", reason: `consumer on ${source.stream} deleted on the server; recreating it` });
    source.ensure().then(
      (made) => {
        if (known || made) this.context.report({ kind: "subscription", group: this.group, state: "resumed", ...(made ? { reason: `consumer on ${source.stream} made again` } : {}) });
      },
      (err: unknown) => this.context.log.error({ err, group: this.group, stream: source.stream }, `nats: recreating a deleted consumer failed: ${reasonOf(err)}`),
    );
  }

  private renew(): void {
    if (!this.connection.live) return;
    for (const d of [...this.held, ...this.buffer]) {
      if (this.gate !== undefined && !this.gate.renewable(d)) continue;
      d.renewLease().catch((err: unknown) => this.context.log.warn({ err, group: this.group }, "nats: renewing a lease (+WPI) failed; the message may be redelivered"));
    }
  }

  private async giveBack(d: NatsDelivery): Promise<void> {
    try {
      await d.release();
    } catch (err) {
      this.releaseFailed++;
      this.context.log.warn({ err, group: this.group }, "nats: giving back an unhandled message failed; it returns when its ack wait runs out");
    }
  }
}

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
import { parseAckSubject } from "./ack-subject.js";
import { NatsDelivery, type DeliveryHost } from "./delivery.js";
import type { NatsDeadLetterStore } from "./dead-letter-store.js";
import { fromNatsHeaders } from "./headers.js";

/** One stream the group reads, and how to (re)create its consumer. */
export interface PullSource {
  readonly stream: string;
  readonly consumer: string;
  /** The topic of a topic stream; undefined for the group's own stream (the topic is in a header). */
  readonly topic: string | undefined;
  /** Make the consumer (and its stream) if missing; true when it had to be made. */
  ensure(): Promise<boolean>;
}

interface Pull {
  readonly id: number;
  remaining: number;
  readonly endsAt: number;
}

const PULL_MAX_MS = 5_000;
const SETTLE_TIMEOUT_MS = 5_000;

export class NatsSubscription implements Subscription, DeliveryHost {
  private readonly inbox = createInbox();
  private readonly sub: NatsSub;
  /** Open pulls per stream, oldest first (the server fills them in order). */
  private readonly pulls = new Map<string, Pull[]>();
  private readonly buffer: NatsDelivery[] = [];
  private readonly held = new Set<NatsDelivery>();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly acks: AckFlusher;
  private wake: (() => void) | undefined;
  private nextPull = 1;
  private closed = false;
  private lastPullEnds = 0;

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
  ) {
    for (const s of sources) this.pulls.set(s.stream, []);
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
        const out = this.buffer.splice(0, room);
        for (const d of out) this.held.add(d);
        return out;
      }
      const left = deadline - Date.now();
      if (left <= 0) return [];
      this.pull(left);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, PULL_MAX_MS));
        this.wake = () => {
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
    clearInterval(this.renewTimer);
    this.wake?.();
    // What was pulled but never handed out goes back at once.
    await Promise.all(this.buffer.splice(0).map((d) => this.giveBack(d)));
    // Pulls still open on the server may yet deliver here: keep the inbox until they end, giving back what comes.
    const linger = Math.max(0, this.lastPullEnds - Date.now());
    if (linger === 0) this.sub.unsubscribe();
    else setTimeout(() => this.sub.unsubscribe(), linger + 200).unref();
    await this.onClose(this);
  }

  settle(ackSubject: string, body: string): Promise<void> {
    return this.acks.send(ackSubject, body);
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

  /** After a reconnect the server may have dropped our pulls: forget them so the next receive pulls again. */
  forgetPulls(): void {
    for (const stream of this.pulls.keys()) this.pulls.set(stream, []);
    this.wake?.();
  }

  /**
   * Ask each stream for what room is left under `prefetch` (held, buffered and already asked for counted). A
   * stream with pulls open is asked again only once a quarter of the prefetch is free, so a steady consumer
   * pulls in batches, not one round trip per settled message.
   */
  private pull(waitMs: number): void {
    const now = Date.now();
    for (const source of this.sources) {
      let open = this.pulls.get(source.stream) ?? [];
      if (open.some((p) => p.endsAt + 1_000 <= now)) {
        open = open.filter((p) => p.endsAt + 1_000 > now);
        this.pulls.set(source.stream, open);
        // A pull the server never ended (no 408): lost across a reconnect, or sent to a consumer that no longer
        // exists (the server answers such pulls with nothing at all). Make sure the consumer is there.
        this.recreate(source.stream, false);
      }
      const asked = open.reduce((n, p) => n + p.remaining, 0);
      const batch = this.prefetch - this.held.size - this.buffer.length - asked;
      if (batch <= 0 || (open.length > 0 && batch < Math.ceil(this.prefetch / 4))) continue;
      const expiresMs = Math.max(100, Math.min(waitMs, PULL_MAX_MS));
      const pull: Pull = { id: this.nextPull++, remaining: batch, endsAt: now + expiresMs };
      open.push(pull);
      this.lastPullEnds = Math.max(this.lastPullEnds, pull.endsAt);
      const request = JSON.stringify({ batch, expires: expiresMs * 1_000_000 });
      try {
        this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${source.stream}.${source.consumer}`, request, { reply: `${this.inbox}.${source.stream}.${pull.id}` });
      } catch (err) {
        // A closed or draining connection: the receive times out and the bus sees the connection's own report.
        this.endPull(source.stream, pull.id);
        this.context.log.warn({ err, group: this.group, stream: source.stream }, "nats: a pull request could not be sent");
      }
    }
  }

  private endPull(stream: string, id: number): void {
    const open = this.pulls.get(stream);
    if (open !== undefined) this.pulls.set(stream, open.filter((p) => p.id !== id));
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
    const source = this.sources.find((s) => s.stream === info.stream);
    const pull = this.pulls.get(info.stream)?.[0];
    if (pull !== undefined && --pull.remaining <= 0) this.endPull(info.stream, pull.id);
    const { headers, topic, attemptsBefore } = fromNatsHeaders(msg.headers);
    const delivery = new NatsDelivery(source?.topic ?? topic ?? "", this.group, { headers, body: msg.data }, headers["ce-key"], msg.reply ?? "", { ...info, attemptsBefore }, this);
    if (this.closed) {
      void this.giveBack(delivery);
      return;
    }
    this.buffer.push(delivery);
    this.wake?.();
  }

  /** A pull's end (404 no messages, 408 expired, 409 limits or a deleted consumer) or a heartbeat (100). */
  private onStatus(msg: Msg): void {
    const [, streamToken, idToken] = msg.subject.slice(this.inbox.length).split(".");
    const code = msg.headers?.code ?? 0;
    if (code === 100) return;
    if (streamToken !== undefined) this.endPull(streamToken, Number(idToken));
    if (code === 409 && /consumer (deleted|not found)/i.test(msg.headers?.description ?? "")) this.recreate(streamToken, true);
    else if (code !== 404 && code !== 408 && code !== 409) {
      this.context.log.warn({ group: this.group, code, description: msg.headers?.description }, "nats: unexpected status on a pull");
    }
    this.wake?.();
  }

  /**
   * The consumer was deleted on the server (by an operator, or lost), or may have been (`known` false: a pull went
   * unanswered): make it again if missing, so the group is not stuck.
   */
  private recreate(stream: string | undefined, known: boolean): void {
    const source = this.sources.find((s) => s.stream === stream);
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
      d.renewLease().catch((err: unknown) => this.context.log.warn({ err, group: this.group }, "nats: renewing a lease (+WPI) failed; the message may be redelivered"));
    }
  }

  private async giveBack(d: NatsDelivery): Promise<void> {
    try {
      await d.release();
    } catch (err) {
      this.context.log.warn({ err, group: this.group }, "nats: giving back an unhandled message failed; it returns when its ack wait runs out");
    }
  }
}

/**
 * Acks of one consuming channel, coalesced. amqplib sends a `basic.ack`
 * frame per `channel.ack(message)`; here the acks of one turn of the event
 * loop go out together on the next (or sooner, once many are waiting), as
 * one `basic.ack` with `multiple` for every waiting tag below the channel's
 * lowest unsettled tag, and one plain `basic.ack` per waiting tag above it.
 *
 * The invariant: a `multiple` ack for tag T is sent only when no message
 * with a tag below T is unsettled (pushed, and neither acked nor nacked on
 * the wire or waiting to be): those below T that are not waiting were
 * settled by frames sent earlier on the same channel, so the broker no
 * longer counts them. A nack goes out at once, in the order it was asked for.
 * Acks still waiting when the channel dies are never sent: the broker puts
 * those messages back (a duplicate, never a loss).
 */
import type { Channel, ConsumeMessage } from "amqplib";

/** Waiting acks that are flushed at once, without waiting for the next turn. */
const FLUSH_AT = 64;

/** A message the broker pushed on a channel, until it is settled. */
export interface Pushed {
  readonly message: ConsumeMessage;
  readonly acks: ChannelAcks;
}

export class ChannelAcks {
  /** Pushed and not settled, in tag order (the broker pushes in ascending tags; a Set keeps insertion order). */
  private readonly unsettled = new Set<Pushed>();
  private waiting: Pushed[] = [];
  private scheduled = false;
  private dead = false;
  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(readonly channel: Channel) {}

  /** The broker pushed `message` on this channel. */
  pushed(message: ConsumeMessage): Pushed {
    const p: Pushed = { message, acks: this };
    this.unsettled.add(p);
    return p;
  }

  /** Pushed here and not yet settled on the wire (acks still waiting included): what the broker still counts out to us, as far as we saw. */
  get outstanding(): number {
    return this.unsettled.size + this.waiting.length;
  }

  /** Ack `p` with the next flush. */
  ack(p: Pushed): void {
    if (this.dead || !this.unsettled.delete(p)) return;
    this.waiting.push(p);
    if (this.waiting.length >= FLUSH_AT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushScheduled);
    }
  }

  /** Nack `p` now (requeue: the broker hands it out again). */
  nack(p: Pushed, requeue: boolean): void {
    if (this.dead || !this.unsettled.delete(p)) return;
    this.channel.nack(p.message, false, requeue);
  }

  /** Send every waiting ack now. */
  flush(): void {
    if (this.dead || this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    const first = this.unsettled.values().next();
    const floor = first.done === true ? Number.POSITIVE_INFINITY : first.value.message.fields.deliveryTag;
    let top: Pushed | undefined;
    let below = 0;
    for (const p of waiting) {
      const tag = p.message.fields.deliveryTag;
      if (tag < floor) {
        below++;
        if (top === undefined || tag > top.message.fields.deliveryTag) top = p;
      }
    }
    if (top !== undefined) this.channel.ack(top.message, below > 1);
    if (below === waiting.length) return;
    for (const p of waiting) if (p.message.fields.deliveryTag > floor) this.channel.ack(p.message);
  }

  /** The channel is gone (or closing without us): nothing more is sent on it. */
  kill(): void {
    this.dead = true;
    this.waiting = [];
    this.unsettled.clear();
  }
}

/**
 * An ordered subscription's rules on top of the pull machinery
 * (subscription.ts, ADR 012): it pulls a partition only while it owns it
 * and it is not fenced (partition-owner.ts), drops what arrives from a
 * partition it does not own or that is fenced (unsettled: the server
 * redelivers it after its ack wait, behind the deliveries the fence waits
 * for), and hands out a key's next message only once the previous one
 * handed out here is settled. A key passed over once stays passed over for
 * the rest of a pick, so its later messages (from any consumer) wait too.
 *
 * A partition's messages are handed out only once it is verified (every
 * delivery the server has out of it is here, partition-owner.ts), and a
 * key's lowest stream sequence here goes first: a redelivery (the server's
 * redelivery queue, served to the next pull) may arrive after later
 * messages of its key that an earlier pull brought.
 *
 * A partition being given back (above this member's share,
 * partition-owner.ts) is handed out as usual while a pull sent before may
 * still deliver into it; after that what it still buffers is given back in
 * place (nakked), and the owner frees it once nothing of it is unsettled.
 */
import type { Logger } from "../../observability/logger.js";
import { parseAckSubject, type AckInfo } from "./ack-subject.js";
import type { NatsDelivery } from "./delivery.js";
import type { GiveBack, PartitionOwner } from "./partition-owner.js";
import type { OrderGate, PullSource } from "./subscription.js";

function releaseKey(info: AckInfo): string {
  return `${info.stream}.${info.consumer}.${info.streamSeq}`;
}

export class OrderedGate implements OrderGate {
  private readonly partitionOf = new WeakMap<NatsDelivery, number>();
  private readonly streamOf = new WeakMap<NatsDelivery, string>();
  /**
   * Releases in place (naks) per message (stream, consumer, stream sequence): JetStream counts each as a delivery,
   * the contract's attempt does not. Kept for the subscription's life (a release is rare: a graceful close); another
   * process that gets the message next counts the nak (docs/transports/nats.md).
   */
  private readonly naks = new Map<string, number>();
  /**
   * Deliveries admitted per partition and not yet settled or dropped (pruned when counted), by stream and sequence:
   * a second delivery of a message held here (its ack wait ran out on the server while it waited) is not admitted.
   */
  private readonly admitted = new Map<number, Map<string, NatsDelivery>>();
  /**
   * Deliveries released in place (a nak sent): the server redelivers a nakked message at once, often before the nak's
   * reply is read here, so a second delivery of one of these is that redelivery, not an ack wait run out.
   */
  private readonly nakked = new WeakSet<NatsDelivery>();
  /** Partitions being given back whose naks failed: the give-back is not clean (partition-owner.ts lets the entry expire). */
  private readonly giveBackFailed = new Set<number>();

  constructor(
    private readonly owner: PartitionOwner,
    private readonly log: Logger,
    private readonly group: string,
  ) {}

  /** Deliveries of partition `index` this member surely holds, handed out or buffered (compared with the server's pending count). */
  holding(index: number): number {
    const held = this.admitted.get(index);
    if (held === undefined) return 0;
    let surely = 0;
    for (const [id, d] of held) {
      if (d.status === "settled") held.delete(id);
      // One whose settle went out may be settled on the server already (its confirm lost with a connection): counted
      // as held, it could hide a delivery out elsewhere from the comparison with the server's pending count.
      else if (!d.settleSent) surely++;
    }
    return surely;
  }

  /** Where the give-back of partition `index` stands: done once nothing admitted of it is unsettled. */
  givenBack(index: number): GiveBack {
    if (this.giveBackFailed.delete(index)) return "failed";
    const held = this.admitted.get(index);
    if (held === undefined) return "done";
    for (const [id, d] of held) if (d.status === "settled") held.delete(id);
    return held.size === 0 ? "done" : "waiting";
  }

  mayPull(source: PullSource): boolean {
    return source.partition === undefined || this.owner.active(source.partition);
  }

  owed(source: PullSource): number {
    return source.partition === undefined ? 0 : this.owner.owed(source.partition);
  }

  admit(source: PullSource, d: NatsDelivery): boolean {
    this.streamOf.set(d, source.stream);
    const p = source.partition;
    if (p === undefined) return true;
    if (!this.owner.owns(p)) return false;
    if (this.owner.fenced(p)) {
      // An old pull delivered into a fence (after a reconnect): this one comes back after its ack wait, so must the fence.
      this.owner.extendFence(p);
      return false;
    }
    let held = this.admitted.get(p);
    if (held === undefined) this.admitted.set(p, (held = new Map()));
    const id = `${source.stream}.${d.streamSeq}`;
    const earlier = held.get(id);
    // The earlier delivery's settle settles the message (the server acks by stream sequence); this one is dropped.
    // Unless the earlier one was nakked: this is the nak's redelivery, counted in released(), and it waits in pick()
    // while the earlier one is still settling (its key is busy until then).
    if (earlier !== undefined && earlier.status !== "settled" && !this.nakked.has(earlier)) return false;
    this.partitionOf.set(d, p);
    held.set(id, d);
    return true;
  }

  pick(buffer: NatsDelivery[], held: ReadonlySet<NatsDelivery>, room: number): NatsDelivery[] {
    // The lowest sequence buffered per key and stream; and every delivery of a partition no longer owned goes, all of
    // them at once: one left behind would be handed out after a reclaim ahead of a dropped earlier one of its key.
    const lowest = new Map<string, number>();
    for (let i = 0; i < buffer.length;) {
      const d = buffer[i]!;
      const p = this.partitionOf.get(d);
      if (p !== undefined && !this.owner.owns(p)) {
        // Dropped unsettled: it is redelivered after its ack wait, to the next owner.
        buffer.splice(i, 1);
        this.admitted.get(p)?.delete(`${this.streamOf.get(d) ?? ""}.${d.streamSeq}`);
        continue;
      }
      if (p !== undefined && this.owner.givingBack(p)) {
        // Into the server's redelivery queue, for the next owner, whose count waits for it (all of the partition's
        // at once, so a key's later message never stays here while its earlier one went back).
        buffer.splice(i, 1);
        this.giveBack(d, p);
        continue;
      }
      if (d.key !== undefined) {
        const k = this.keyOf(d);
        const seq = lowest.get(k);
        if (seq === undefined || d.streamSeq < seq) lowest.set(k, d.streamSeq);
      }
      i++;
    }
    const busy = new Set<string>();
    for (const d of held) if (d.key !== undefined && d.status !== "settled") busy.add(d.key);
    const ready = new Map<number, boolean>();
    const out: NatsDelivery[] = [];
    for (let i = 0; i < buffer.length && out.length < room;) {
      const d = buffer[i]!;
      const p = this.partitionOf.get(d);
      // Not its key's lowest here: that one is further on in the buffer and decides for the key.
      if (d.key !== undefined && lowest.get(this.keyOf(d)) !== d.streamSeq) {
        i++;
        continue;
      }
      let blocked = d.key !== undefined && busy.has(d.key);
      if (p !== undefined && !blocked) {
        let r = ready.get(p);
        if (r === undefined) ready.set(p, (r = this.owner.ready(p)));
        blocked = !r;
      }
      if (d.key !== undefined) busy.add(d.key);
      if (blocked) {
        i++;
        continue;
      }
      buffer.splice(i, 1);
      out.push(d);
    }
    return out;
  }

  renewable(d: NatsDelivery): boolean {
    const p = this.partitionOf.get(d);
    return p === undefined || this.owner.owns(p);
  }

  releasesInPlace(d: NatsDelivery): boolean {
    if (!this.partitionOf.has(d)) return false;
    this.nakked.add(d);
    const info = parseAckSubject(d.ackSubject);
    if (info !== undefined) {
      const key = releaseKey(info);
      this.naks.set(key, (this.naks.get(key) ?? 0) + 1);
    }
    return true;
  }

  released(info: AckInfo): number {
    return this.naks.get(releaseKey(info)) ?? 0;
  }

  private giveBack(d: NatsDelivery, index: number): void {
    d.release().catch((err: unknown) => {
      this.giveBackFailed.add(index);
      this.log.warn({ err, group: this.group, partition: index }, "nats: giving back a delivery of a partition above this member's share failed; the partition is left to expire");
    });
  }

  /** A key's order is within one stream (a key's messages of two topics are two streams, sequences apart). */
  private keyOf(d: NatsDelivery): string {
    return `${this.streamOf.get(d) ?? ""}\u0000${d.key ?? ""}`;
  }

  disconnected(): void {
    this.owner.disconnected();
  }

  reconnected(): void {
    this.owner.reconnected().catch((err: unknown) => this.log.error({ err, group: this.group }, "nats: checking partitions after a reconnect failed"));
  }

  close(clean: boolean): Promise<void> {
    return this.owner.close(clean);
  }
}

/**
 * An ordered subscription's rules on top of the pull machinery
 * (subscription.ts, ADR 012): it pulls a partition only while it owns it
 * and it is not fenced (partition-owner.ts), drops what arrives from a
 * partition it does not own or that is fenced (unsettled: the server
 * redelivers it after its ack wait, behind the deliveries the fence waits
 * for), and hands out a key's next message only once the previous one
 * handed out here is settled. A key passed over once stays passed over for
 * the rest of a pick, so its later messages (from any consumer) wait too.
 */
import type { Logger } from "../../observability/logger.js";
import { parseAckSubject, type AckInfo } from "./ack-subject.js";
import type { NatsDelivery } from "./delivery.js";
import type { PartitionOwner } from "./partition-owner.js";
import type { OrderGate, PullSource } from "./subscription.js";

function releaseKey(info: AckInfo): string {
  return `${info.stream}.${info.consumer}.${info.streamSeq}`;
}

export class OrderedGate implements OrderGate {
  private readonly partitionOf = new WeakMap<NatsDelivery, number>();
  /**
   * Releases in place (naks) per message (stream, consumer, stream sequence): JetStream counts each as a delivery,
   * the contract's attempt does not. Kept for the subscription's life (a release is rare: a graceful close); another
   * process that gets the message next counts the nak (docs/transports/nats.md).
   */
  private readonly naks = new Map<string, number>();
  /** Deliveries admitted per partition and not yet settled or dropped (pruned when counted). */
  private readonly admitted = new Map<number, Set<NatsDelivery>>();

  constructor(
    private readonly owner: PartitionOwner,
    private readonly log: Logger,
    private readonly group: string,
  ) {}

  /** Deliveries of partition `index` this member holds or has buffered (a reconnect compares it with the server's count). */
  holding(index: number): number {
    const set = this.admitted.get(index);
    if (set === undefined) return 0;
    for (const d of set) if (d.status === "settled") set.delete(d);
    return set.size;
  }

  mayPull(source: PullSource): boolean {
    return source.partition === undefined || this.owner.active(source.partition);
  }

  admit(source: PullSource, d: NatsDelivery): boolean {
    const p = source.partition;
    if (p === undefined) return true;
    if (!this.owner.owns(p)) return false;
    if (this.owner.fenced(p)) {
      // An old pull delivered into a fence (after a reconnect): this one comes back after its ack wait, so must the fence.
      this.owner.extendFence(p);
      return false;
    }
    this.partitionOf.set(d, p);
    let set = this.admitted.get(p);
    if (set === undefined) this.admitted.set(p, (set = new Set()));
    set.add(d);
    return true;
  }

  pick(buffer: NatsDelivery[], held: ReadonlySet<NatsDelivery>, room: number): NatsDelivery[] {
    const busy = new Set<string>();
    for (const d of held) if (d.key !== undefined && d.status !== "settled") busy.add(d.key);
    const out: NatsDelivery[] = [];
    for (let i = 0; i < buffer.length && out.length < room;) {
      const d = buffer[i]!;
      const p = this.partitionOf.get(d);
      if (p !== undefined && !this.owner.owns(p)) {
        // The partition went to another member: dropped unsettled, it is redelivered there after its ack wait.
        buffer.splice(i, 1);
        this.admitted.get(p)?.delete(d);
        continue;
      }
      const blocked = (p !== undefined && this.owner.fenced(p)) || (d.key !== undefined && busy.has(d.key));
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

  reconnected(): void {
    this.owner.reconnected().catch((err: unknown) => this.log.error({ err, group: this.group }, "nats: checking partitions after a reconnect failed"));
  }

  close(clean: boolean): Promise<void> {
    return this.owner.close(clean);
  }
}

/**
 * A group's subscription: the group's consumer groups on each topic stream
 * and on the group's own stream, read with `XREADGROUP … BLOCK` on a
 * connection of its own (never the shared one, ADR 011), under a consumer
 * name unique to this subscription. Entries whose lease ran out (pending
 * and idle past `leaseMs` plus one renewal period) are taken with
 * `XAUTOCLAIM` every claim interval. What it holds (handed out, or read and
 * not yet handed out) is renewed every `leaseMs / 3`. An ordered
 * subscription reads through a script that records each keyed entry in its
 * key's list, and hands out only the heads of those lists (key-heads.ts), so
 * a key is in order across every consumer of the group.
 */
import type { Redis } from "ioredis";
import type { ContextSlot } from "../../transport/context.js";
import { reasonOf } from "../../transport/context.js";
import { sleep } from "../../runtime/backoff.js";
import type { Delivery, Subscription } from "../../transport/transport.js";
import type { RedisDeadLetterStore } from "./dead-letter-store.js";
import { RedisDelivery, type DeliveryHost } from "./delivery.js";
import { fromFields, type ParsedEntry } from "./fields.js";
import { keyHeads, readOrdered, waitForEntries, type RawEntry } from "./key-heads.js";
import { entryMember } from "./names.js";
import { unpackRead, type PackedStream } from "./read-unpack.js";
import { guardedRead } from "./read-watchdog.js";
import { isReply } from "./reply-error.js";
import { RELEASED_AT_LEAST_MS, RELEASED_IDLE_MS } from "./released.js";
import { renewLeases } from "./renew-leases.js";
import { replyCommand } from "./reply-command.js";
import { READ_PACKED, type ScriptedRedis } from "./scripts.js";
import { SettleBatch, type AlongRead } from "./settle-batch.js";
import type { StreamSource, SubscriptionSettings } from "./subscription-settings.js";

export interface SubscriptionLinks {
  /** The shared command connection (settles, claims, renewals). */
  readonly redis: ScriptedRedis;
  /** This subscription's own connection for blocking reads. */
  readonly reader: Redis;
  readonly deadLetters: RedisDeadLetterStore;
  /** Whether the transport is still open, and how often its command connection closed (a read there may have been sent again). */
  readonly connection: { readonly live: boolean; readonly drops: number };
  readonly context: ContextSlot;
  /** Make the group's consumer groups again (one was deleted under the subscription). */
  rebind(): Promise<void>;
  /** The subscription is done: forget it, remove a temporary group. */
  closed(sub: RedisSubscription): Promise<void>;
}

const RETRY_PAUSE_MS = 250;
/** Fewest acks sent mid-turn (settle-batch.ts eagerAt): below this a turn's acks are few, and one pipeline for them all costs the server less. */
const EAGER_ACKS_MIN = 32;
/** How often an ordered subscription looks again at entries waiting for their key's head to settle, ms. */
const HEAD_POLL_MS = 50;

export class RedisSubscription implements Subscription, DeliveryHost {
  private readonly buffer: RedisDelivery[] = [];
  private readonly held = new Set<RedisDelivery>();
  private readonly bySource: Map<string, StreamSource>;
  private readonly cursors = new Map<string, string>();
  private readonly claimIntervalMs: number;
  private readonly claimIdleMs: number;
  /** Starts and acks of one turn, one pipeline (settle-batch.ts). */
  private readonly settles: SettleBatch;
  private renewTimer: NodeJS.Timeout | undefined;
  private trimTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lastClaim = 0;
  private receiving: Promise<unknown> = Promise.resolve();
  /** Receives asked for and not returned yet (a read-ahead is pointless while one waits for entries). */
  private receivers = 0;
  /** Entries asked for by the reads sent along with acks whose reply has not come yet. */
  private readingAhead = 0;
  /** Resolves once every read sent along so far has its reply. */
  private alongReplied: Promise<void> = Promise.resolve();
  private closing = false;
  private failing = false;
  /** A read failed: the server may have delivered entries whose reply never came (they are pending under this consumer). */
  private recover = false;

  constructor(
    private readonly sources: readonly StreamSource[],
    private readonly links: SubscriptionLinks,
    private readonly s: SubscriptionSettings,
  ) {
    this.bySource = new Map(sources.map((src) => [src.stream, src]));
    const renewMs = Math.max(50, Math.floor(s.leaseMs / 3));
    this.claimIdleMs = s.leaseMs + renewMs;
    this.claimIntervalMs = Math.max(100, Math.min(1_000, Math.floor(s.leaseMs / 2)));
    this.settles = new SettleBatch({
      redis: links.redis,
      group: s.group,
      consumer: s.consumer,
      starts: s.starts,
      // Not counted: a crash in these handlers would not use up an attempt (the budget runs longer, never shorter).
      startsLost: (err, count) => links.context.log.warn({ err, group: s.group, count }, "redis: counting handler starts failed"),
      along: () => this.readAlong(),
      // Half the prefetch: the first half's acks and refill are on the server while the client handles the second half.
      eagerAt: Math.max(EAGER_ACKS_MIN, Math.ceil(s.prefetch / 2)),
    });
    this.renewTimer = setInterval(() => void this.renew(), renewMs);
    this.renewTimer.unref();
    this.trimTimer = setInterval(() => void this.trim(), s.trimIntervalMs);
    this.trimTimer.unref();
  }

  get live(): boolean {
    return this.links.connection.live;
  }

  get group(): string {
    return this.s.group;
  }

  /** One receive at a time: they share the reader connection. */
  receive(max: number, waitMs: number): Promise<Delivery[]> {
    this.receivers++;
    const run = this.receiving.then(() => this.receiveNow(max, waitMs));
    // The chain only orders the receives; the caller gets `run` and its error.
    this.receiving = run.then(
      () => this.receivers--,
      () => this.receivers--,
    );
    return run;
  }

  /**
   * A turn's acks go out while no receive waits (the consumer is at its
   * prefetch): read the entries that take their place in the same write,
   * without BLOCK (so on the command connection), packed (read-unpack.ts),
   * buffered by the time the acks are confirmed: one write and one round
   * trip (one fsync under `appendfsync always`) for both. Only for the
   * entries being acked (held and not acked, plus the buffer and what reads
   * still on their way asked for, stays within the prefetch), a refill's
   * worth at least. Several may be on their way (acks sent mid-turn, then at
   * the turn's end): a receive hands out what they brought as it comes, and
   * waits for all of them before reading itself.
   * Unordered groups only (an ordered read goes through key lists).
   */
  private readAlong(): AlongRead | undefined {
    if (this.s.ordered || this.receivers > 0 || this.closing || this.recover || this.failing || !this.live) return undefined;
    const room = this.s.prefetch - (this.held.size - this.settles.acking) - this.buffer.length - this.readingAhead;
    if (room < Math.max(1, Math.floor(this.s.prefetch / 4))) return undefined;
    // EVAL, not the defined script: a command of ioredis's own kept its reply (and the socket chunk it views) until a mark-compact (reply-command.ts).
    const read = replyCommand("eval", [READ_PACKED, this.sources.length, ...this.sources.map((src) => src.stream), this.s.group, this.s.consumer, room]);
    const sent = this.links.redis.sendCommand(read) as Promise<unknown>;
    this.readingAhead += room;
    let arrived!: () => void;
    const reply = new Promise<void>((resolve) => (arrived = resolve));
    // Chained, not replaced: a receive waiting on it waits for every read on its way, whatever order their replies come in.
    this.alongReplied = this.alongReplied.then(() => reply);
    const drops = this.links.connection.drops;
    const replied = (err: unknown, entries: unknown): void => {
      this.readingAhead -= room;
      arrived();
      if (this.closing || !this.live) return;
      // ioredis sends a command again after a reconnect: what the first send delivered is pending here, its reply lost.
      if (this.links.connection.drops !== drops) this.recover = true;
      let failure = err;
      try {
        if (err === null && entries !== null) for (const entry of entries as Buffer[]) this.takePacked(unpackRead(entry));
      } catch (e) {
        failure = e;
      }
      if (failure === null) return;
      // The next receive takes back what the lost (or unreadable) reply delivered (recoverOwn), as after any failed read.
      this.recover = true;
      void this.readFailed(failure);
    };
    return { sent, replied };
  }

  private async receiveNow(max: number, waitMs: number): Promise<Delivery[]> {
    const deadline = Date.now() + waitMs;
    let first = true;
    for (;;) {
      if (this.closing || !this.live) return [];
      const room = Math.min(max, this.s.prefetch - this.held.size);
      const left = deadline - Date.now();
      if (room <= 0) {
        if (left <= 0) return [];
        await this.waitForRoom(left);
        continue;
      }
      if (this.buffer.length > 0) {
        const out = this.s.ordered ? await this.handOutHeads(room) : this.handOut(room);
        if (out.length > 0) return out;
      }
      if (!first && left <= 0) return [];
      first = false;
      // Reads sent along with acks are on their way: what they bring comes first, and no read of this receive may pass the prefetch with them.
      if (this.readingAhead > 0) {
        await this.alongReplied;
        continue;
      }
      try {
        if (this.recover) {
          await this.recoverOwn();
          this.recover = false;
          if (this.buffer.length > 0) continue;
        }
        if (Date.now() - this.lastClaim >= this.claimIntervalMs) {
          this.lastClaim = Date.now();
          const before = this.buffer.length;
          // Ordered: entries waiting for their key's head must not crowd out the claim that brings a dead consumer's heads back.
          await this.claim(this.s.ordered ? before + this.s.prefetch : room);
          if (this.buffer.length > before) continue;
        }
        const blockMs = Math.min(Math.max(0, deadline - Date.now()), this.claimIntervalMs);
        if (this.s.ordered) await this.readOrdered(room, blockMs);
        else await this.read(room, blockMs);
        this.resumed();
      } catch (err) {
        if (this.closing || !this.live) return [];
        this.recover = true;
        await this.readFailed(err);
        await sleep(Math.min(RETRY_PAUSE_MS, Math.max(0, deadline - Date.now())));
      }
    }
  }

  private handOut(room: number): Delivery[] {
    const out = this.buffer.splice(0, room);
    for (const d of out) this.held.add(d);
    return out;
  }

  /** New entries (`>`) of every stream, at most `room` in all kept, the rest buffered (pending under this consumer, renewed). */
  private async read(room: number, blockMs: number): Promise<void> {
    const args: Array<string | number> = ["GROUP", this.s.group, this.s.consumer, "COUNT", room];
    if (blockMs >= 1) args.push("BLOCK", Math.floor(blockMs));
    args.push("STREAMS", ...this.sources.map((src) => src.stream), ...this.sources.map(() => ">"));
    const read = this.links.reader.sendCommand(replyCommand("xreadgroup", args)) as Promise<Array<[Buffer, RawEntry[]]> | null>;
    this.take(await this.guarded(read, blockMs));
  }

  /**
   * Ordered: new entries through the script that lists them by key, up to
   * twice the prefetch buffered (entries waiting for their key's head stay
   * pending here and are renewed). With nothing new, block until an entry
   * comes, or only briefly while buffered entries wait for their heads.
   */
  private async readOrdered(room: number, blockMs: number): Promise<void> {
    const streams = this.sources.map((src) => src.stream);
    const count = Math.min(room, 2 * this.s.prefetch - this.buffer.length);
    if (count > 0) {
      const got = await readOrdered(this.links.redis, streams, this.s.group, this.s.consumer, count, this.s.keyLists);
      const before = this.buffer.length;
      this.take(got.streams);
      if (this.buffer.length > before || got.lastIds.length === 0) return;
      const wait = this.buffer.length > 0 ? Math.min(blockMs, HEAD_POLL_MS) : blockMs;
      if (wait >= 1) await this.guarded(waitForEntries(this.links.reader, streams, got.lastIds, wait), wait);
      return;
    }
    await sleep(Math.min(blockMs, HEAD_POLL_MS));
  }

  private take(reply: ReadonlyArray<[Buffer, RawEntry[]]> | null): void {
    for (const [streamName, entries] of reply ?? []) {
      const source = this.bySource.get(streamName.toString());
      if (source === undefined) continue;
      for (const [id, fields] of entries) if (fields !== null) this.buffer.push(this.delivery(source, id.toString(), fromFields(fields), 1));
    }
  }

  private takePacked(streams: readonly PackedStream[]): void {
    for (const { stream, entries } of streams) for (const { id, entry } of entries) this.buffer.push(this.delivery(this.bySource.get(stream)!, id, entry, 1));
  }

  /** Ordered: the buffered entries that are their key's head (unkeyed ones always), up to `room`; lost ones dropped. */
  private async handOutHeads(room: number): Promise<Delivery[]> {
    const keyed = this.buffer.filter((d) => d.key !== undefined);
    const verdicts = await keyHeads(this.links.redis, this.s.group, this.s.consumer, this.s.keyLists, keyed.map((d) => ({ stream: d.stream, id: d.id, key: d.key! })));
    const verdict = new Map(keyed.map((d, i) => [d, verdicts[i] ?? 0]));
    const out: RedisDelivery[] = [];
    const keep: RedisDelivery[] = [];
    for (const d of this.buffer) {
      const v = verdict.get(d) ?? 1;
      if (v < 0) d.lost = true;
      else if (v === 1 && out.length < room) out.push(d);
      else keep.push(d);
    }
    this.buffer.splice(0, this.buffer.length, ...keep);
    for (const d of out) this.held.add(d);
    return out;
  }

  /** A read that outlives its BLOCK by `readGraceMs`: drop the reader so it reconnects (read-watchdog.ts). */
  private guarded<T>(read: Promise<T>, blockMs: number): Promise<T> {
    return guardedRead(this.links.reader, read, blockMs, this.s.readGraceMs);
  }

  /** Entries of this group whose lease ran out (or that were released), from every stream, up to `room`. */
  private async claim(room: number): Promise<void> {
    for (const source of this.sources) {
      if (this.buffer.length >= room) return;
      const cursor = this.cursors.get(source.stream) ?? "0-0";
      const reply = (await this.links.redis.callBuffer(
        "XAUTOCLAIM", source.stream, this.s.group, this.s.consumer, this.claimIdleMs, cursor, "COUNT", room - this.buffer.length,
      )) as [Buffer, RawEntry[], Buffer[] | undefined];
      this.cursors.set(source.stream, reply[0].toString());
      const claimed = reply[1].filter((e): e is [Buffer, Buffer[]] => e[1] !== null);
      // Redis 7 lists the pending entries it found deleted from the stream (and dropped from the pending list); 6.2 does not.
      const deleted = reply[2] ?? [];
      if (deleted.length > 0) this.links.context.log.warn({ group: this.s.group, stream: source.stream, deleted: deleted.length }, "redis: pending entries deleted from their stream were dropped from the pending list");
      if (deleted.length > 0) await this.links.redis.hdel(this.s.starts, ...deleted.map((id) => entryMember(source.stream, id.toString())));
      if (claimed.length === 0) continue;
      const counts = await this.attempts(source.stream, claimed.map(([id]) => id.toString()));
      claimed.forEach(([id, fields], i) => this.buffer.push(this.delivery(source, id.toString(), fromFields(fields), counts[i]!)));
    }
  }

  /**
   * Entries the server delivered to this consumer whose reply was lost with
   * the connection (a reset or blackhole mid-read): pending under this
   * consumer, never handed out. Taken before any new read, so a key's
   * later entries cannot overtake them (they would otherwise wait out a
   * lease). Released entries (idle for a year) are left to the claim.
   */
  private async recoverOwn(): Promise<void> {
    const known = new Set([...this.held, ...this.buffer].map((d) => d.id));
    for (const source of this.sources) {
      const rows = (await this.links.redis.xpending(source.stream, this.s.group, "-", "+", this.s.prefetch * 4 + 100, this.s.consumer)) as Array<[string, string, number, number]>;
      const lost = rows.filter(([id, , idle]) => !known.has(id) && idle < RELEASED_AT_LEAST_MS);
      if (lost.length === 0) continue;
      const pipeline = this.links.redis.pipeline();
      for (const [id] of lost) pipeline.xrangeBuffer(source.stream, id, id);
      const replies = (await pipeline.exec()) ?? [];
      const counts = await this.attempts(source.stream, lost.map(([id]) => id));
      lost.forEach(([id], i) => {
        const [err, entries] = replies[i] ?? [new Error("no reply"), null];
        const entry = (entries as RawEntry[] | null)?.[0];
        if (err === null && entry?.[1] != null) this.buffer.push(this.delivery(source, id, fromFields(entry[1]), counts[i]!));
      });
      this.links.context.log.info({ group: this.s.group, stream: source.stream, recovered: lost.length }, "redis: took back entries delivered on a connection that dropped before their reply");
    }
  }

  /**
   * Each entry's attempt: its handler starts so far (the group's starts
   * hash, written at each start) plus one. Not the pending list's delivery
   * count, which also counts reads and claims of entries whose handler
   * never started (prefetched by a process that died, ADR 011).
   */
  private async attempts(stream: string, ids: readonly string[]): Promise<number[]> {
    const starts = await this.links.redis.hmget(this.s.starts, ...ids.map((id) => entryMember(stream, id)));
    return starts.map((n) => Number(n ?? 0) + 1);
  }

  private delivery(source: StreamSource, id: string, entry: ParsedEntry, attempt: number): RedisDelivery {
    const wire = entry.wire;
    const topic = source.topic ?? entry.topic ?? wire.headers["ce-type"] ?? "";
    return new RedisDelivery(topic, this.s.group, wire, wire.headers["ce-key"], source.stream, id, attempt, source.topic === undefined, this);
  }

  private async readFailed(err: unknown): Promise<void> {
    const reason = reasonOf(err);
    if (!this.failing) {
      this.failing = true;
      this.links.context.log.warn({ err, group: this.s.group }, "redis: reading the group's streams failed; retrying");
      this.links.context.report({ kind: "subscription", group: this.s.group, state: "failing", reason });
    }
    // NOGROUP: a stream or its consumer group was deleted under us (an operator, a FLUSHALL): make them again.
    if (isReply(err, "NOGROUP")) {
      await this.links.rebind().catch((e: unknown) => this.links.context.log.error({ err: e, group: this.s.group }, "redis: making the group's streams again failed"));
    }
  }

  private resumed(): void {
    if (!this.failing) return;
    this.failing = false;
    this.links.context.report({ kind: "subscription", group: this.s.group, state: "resumed" });
  }

  private waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  // DeliveryHost

  ack(d: RedisDelivery): Promise<boolean> {
    const list = this.s.ordered && d.key !== undefined ? this.s.keyLists + d.key : undefined;
    // Fresh: this delivery's one start is the entry's first (attempt 1), so its count exists only if that start was sent on its own.
    return this.settles.settle({ stream: d.stream, id: d.id, list, remove: d.own, fresh: d.attempt === 1 && d.starts === 1 });
  }

  async release(d: RedisDelivery): Promise<boolean> {
    const ours = (await this.links.redis.missiveRelease(d.stream, d.group, this.s.consumer, String(RELEASED_IDLE_MS), d.id)) === 1;
    // Claim again at the next receive, so a release is deliverable at once here too.
    this.lastClaim = 0;
    return ours;
  }

  async deadLetter(d: RedisDelivery, headers: Readonly<Record<string, string>>): Promise<boolean> {
    const entry = await this.links.deadLetters.add(d.group, d.topic, d.key, headers, d.wire.body);
    if (await this.ack(d)) return true;
    // Not ours any more: the new holder settles it; this copy must not stay as a second dead letter.
    await this.links.deadLetters.remove(entry);
    return false;
  }

  started(d: RedisDelivery): void {
    // Sent with the turn's other starts, ahead of any settle of a later turn or the same one, so the settle's HDEL comes after it.
    this.settles.start(d.stream, d.id);
  }

  done(d: RedisDelivery): void {
    this.held.delete(d);
    this.wake?.();
  }

  /** Renew every entry held or buffered; mark those that are no longer ours. */
  private async renew(): Promise<void> {
    const all = [...this.held, ...this.buffer].filter((d) => d.status === "held" && !d.lost);
    if (all.length === 0) {
      if (this.closing) this.stopTimers();
      return;
    }
    try {
      await renewLeases(this.links.redis, this.s.group, this.s.consumer, all);
      for (let i = this.buffer.length - 1; i >= 0; i--) if (this.buffer[i]!.lost) this.buffer.splice(i, 1);
    } catch (err) {
      // The next tick tries again; a lease runs out only after three missed renewals.
      this.links.context.log.warn({ err, group: this.s.group }, "redis: renewing leases failed");
    }
  }

  private async trim(): Promise<void> {
    try {
      for (const source of this.sources) if (source.topic !== undefined) await this.links.redis.missiveTrim(source.stream);
    } catch (err) {
      this.links.context.log.warn({ err, group: this.s.group }, "redis: trimming acknowledged entries failed");
    }
  }

  /** Stop receiving; give back what was read and not handed out; what was handed out can be settled until the transport closes. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.wake?.();
    if (this.trimTimer !== undefined) clearInterval(this.trimTimer);
    this.trimTimer = undefined;
    this.links.reader.disconnect();
    await this.receiving;
    await this.alongReplied;
    if (this.live) {
      for (const d of this.buffer.splice(0)) {
        await d.release().catch((err: unknown) => this.links.context.log.warn({ err, group: this.s.group }, "redis: giving back an entry at close failed; its lease brings it back"));
      }
    }
    if (this.held.size === 0) {
      this.stopTimers();
      if (this.live) await this.forgetConsumer();
    }
    await this.links.closed(this);
  }

  /** Remove this subscription's consumer name from each stream it read, where it holds nothing (consumer names otherwise pile up). */
  private async forgetConsumer(): Promise<void> {
    try {
      for (const source of this.sources) await this.links.redis.missiveForgetConsumer(source.stream, this.s.group, this.s.consumer);
    } catch (err) {
      this.links.context.log.warn({ err, group: this.s.group }, "redis: removing a closed subscription's consumer name failed");
    }
  }

  /**
   * Act as a process that stalled past its lease (tests of lease loss): no
   * more renewals, and what it holds made idle far past any lease, so the
   * next claim of another consumer takes it. Settles then find the entries
   * gone to the new holder.
   */
  async stall(): Promise<void> {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    for (const d of [...this.held, ...this.buffer]) await this.links.redis.xclaim(d.stream, d.group, this.s.consumer, 0, d.id, "IDLE", RELEASED_IDLE_MS, "JUSTID");
  }

  /** The transport is closing or was killed: no more renewals, so what is still held comes back when its lease runs out. */
  stop(): void {
    this.closing = true;
    this.wake?.();
    this.stopTimers();
    this.links.reader.disconnect();
  }

  private stopTimers(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    if (this.trimTimer !== undefined) clearInterval(this.trimTimer);
    this.renewTimer = undefined;
    this.trimTimer = undefined;
  }
}

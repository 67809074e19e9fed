/**
 * The handler starts and acks of one event-loop turn, sent together in one
 * write on the command connection (send-together.ts): a start script call per stream for
 * the starts whose entry is not settled in the same turn, and a settle
 * script call per stream (SETTLE_CHUNK entries at most) for the acks, with
 * the same turn's starts riding along; instead of an HINCRBY per start and
 * a script call per ack. A consumer draining a backlog hands out a read's
 * entries in one turn and their handlers end in the same or the next, so a
 * read's starts and acks go in one or two round trips. Once `eagerAt` acks
 * are waiting they go at once, mid-turn, with the read that refills their
 * places: the server settles them and reads while the client is still
 * handling the rest of the turn's entries, rather than both sides taking
 * turns at being idle.
 *
 * What each ack promised still holds: it resolves only once the server ran
 * the script that checked the entry is still this consumer's and acked it
 * (true), or found it was not (false, its start of this turn then counted);
 * a call that fails rejects every ack in it, so the deliveries stay held
 * and may be settled again. A start sent on its own goes ahead of any later
 * settle on the same connection, so it lands before the settle that deletes
 * its count (ADR 011).
 */
import type { Redis } from "ioredis";
import { corked, repliesOf } from "./send-together.js";

/** Entries per settle script call: bounded so the script's XACK, XDEL and HDEL of them stay well under Lua's unpack limit. */
const SETTLE_CHUNK = 500;

/** An ack waiting for the turn's write. */
export interface PendingSettle {
  readonly stream: string;
  readonly id: string;
  /** The key list it is in (an ordered group's keyed entry), else undefined. */
  readonly list: string | undefined;
  /** Also delete the entry (a group's own stream: no other group reads it). */
  readonly remove: boolean;
  /**
   * No start of the entry was counted before this delivery's handler start
   * (attempt 1, started once): with that start in this settle, the script
   * may skip the entry's count in the starts hash (scripts.ts SETTLE_MANY).
   */
  readonly fresh: boolean;
}

/** The connection a turn's calls go on, with the scripts they call (scripts.ts). */
export interface SettleCommands extends Pick<Redis, "status" | "stream"> {
  missiveStarts(hash: string, stream: string, ids: string): Promise<unknown>;
  missiveSettleMany(...args: Array<string | number>): Promise<unknown>;
}

export interface SettleBatchLinks {
  readonly redis: SettleCommands;
  readonly group: string;
  readonly consumer: string;
  /** The group's hash of handler starts. */
  readonly starts: string;
  /** A turn's starts could not be counted (the connection dropped): the budget then runs longer, never shorter. */
  readonly startsLost: (err: unknown, count: number) => void;
  /**
   * Acks waiting that are sent at once, before the turn ends (the turn's
   * starts of entries not acked yet wait for its end); unset: only at the
   * end of the turn.
   */
  readonly eagerAt?: number;
  /**
   * A turn's acks are being written (`acking` counting them): a command to
   * send along in the same write (the read of the entries that take their
   * place, subscription.ts), sent by this callback on the same connection,
   * and what to do with its reply, which is handed over before any of the
   * acks resolves; undefined to send none.
   */
  readonly along?: () => AlongRead | undefined;
}

/** The reply of a command sent along with a turn's acks: its error (the connection failed, or the server refused it) or its value. */
export type AlongReply = (err: unknown, reply: unknown) => void;

/** A command sent along with a turn's acks: its reply, and who takes it. */
export interface AlongRead {
  readonly sent: Promise<unknown>;
  readonly replied: AlongReply;
}

interface Waiter extends PendingSettle {
  /** Its handler started this turn: the start goes with the settle (counted when the entry is not acked). */
  readonly started: boolean;
  resolve(ours: boolean): void;
  reject(err: unknown): void;
}

export class SettleBatch {
  /** Entry ids whose handler started this turn, by stream. */
  private starts = new Map<string, Set<string>>();
  private settles: Waiter[] = [];
  private scheduled = false;
  /** Acks sent and not yet answered. */
  private inFlight = 0;

  constructor(private readonly links: SettleBatchLinks) {}

  /** Acks sent whose reply has not come yet: their entries are about to be settled. */
  get acking(): number {
    return this.inFlight;
  }

  /** Count a handler start of an entry, with the turn's other starts. */
  start(stream: string, id: string): void {
    const same = this.starts.get(stream);
    if (same === undefined) this.starts.set(stream, new Set([id]));
    else same.add(id);
    this.schedule();
  }

  /**
   * Ack an entry if it is still this consumer's: true when acked, false when
   * another consumer holds it. A start of the same turn goes with the
   * settle: counted by the script only when the entry is not acked (an ack
   * deletes the count at once, so sending it would be work for nothing).
   */
  settle(entry: PendingSettle): Promise<boolean> {
    const started = this.starts.get(entry.stream)?.delete(entry.id) === true;
    return new Promise<boolean>((resolve, reject) => {
      this.settles.push({ stream: entry.stream, id: entry.id, list: entry.list, remove: entry.remove, fresh: entry.fresh, started, resolve, reject });
      if (this.settles.length >= (this.links.eagerAt ?? Number.POSITIVE_INFINITY)) this.sendAcks();
      else this.schedule();
    });
  }

  /**
   * Mid-turn: the acks waiting, without the turn's starts of entries not
   * acked yet (they go at the end of the turn, with their settle or on
   * their own, as they would have without this send).
   */
  private sendAcks(): void {
    const settles = this.settles;
    this.settles = [];
    this.send([], settles);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the turn's I/O callbacks and microtasks: every handler that ends in this turn has acked by then.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const starts = [...this.starts].filter(([, ids]) => ids.size > 0);
    const settles = this.settles;
    this.starts = new Map();
    this.settles = [];
    // Everything went mid-turn (sendAcks): nothing left to send.
    if (starts.length === 0 && settles.length === 0) return;
    this.send(starts, settles);
  }

  private send(starts: ReadonlyArray<[string, Set<string>]>, settles: Waiter[]): void {
    const redis = this.links.redis;
    const calls = this.settleCalls(settles);
    this.inFlight += settles.length;
    // One write for the starts, the acks and the read that refills their places: one round trip (and, under
    // appendfsync always, one fsync).
    let along: AlongRead | undefined;
    const sent = corked(redis, () => {
      const out: Array<Promise<unknown>> = [];
      for (const [stream, ids] of starts) out.push(redis.missiveStarts(this.links.starts, stream, [...ids].join(" ")));
      for (const call of calls) out.push(redis.missiveSettleMany(...call.args));
      along = settles.length > 0 ? this.links.along?.() : undefined;
      if (along !== undefined) out.push(along.sent);
      return out;
    });
    // Taken once every reply has come, as a pipeline's were: the read's entries are buffered before any ack resolves.
    void repliesOf(sent).then((replies) => {
      this.inFlight -= settles.length;
      if (along !== undefined) {
        const [err, reply] = replies[starts.length + calls.length] ?? [new Error("no reply"), null];
        along.replied(err, reply);
      }
      let at = 0;
      for (const [, ids] of starts) {
        const [err] = replies[at++] ?? [new Error("no reply")];
        if (err) this.links.startsLost(err, ids.size);
      }
      for (const call of calls) {
        const [err, verdicts] = replies[at++] ?? [new Error("no reply"), null];
        if (err) {
          // Its starts rode with it: not counted either.
          const lost = call.waiters.reduce((n, w) => n + (w.started ? 1 : 0), 0);
          if (lost > 0) this.links.startsLost(err, lost);
          for (const w of call.waiters) w.reject(err);
        }
        // Every entry acked: the script replies their count rather than a 1 for each.
        else if (typeof verdicts === "number") for (const w of call.waiters) w.resolve(true);
        else call.waiters.forEach((w, i) => w.resolve((verdicts as number[])[i] === 1));
      }
    });
  }

  /**
   * One settle script call per stream (and per SETTLE_CHUNK entries): KEYS
   * the stream, the starts hash, then the key lists of its listed entries;
   * ARGV group, consumer, delete, the lowest and highest id, then the
   * entries as one argument, `<id>:<code>` each, space-separated (code: key
   * list index × 4, plus 2 when fresh, plus 1 when it started this turn), or
   * when every entry has the same code (a drain's acks nearly always) the
   * ids alone and then that code, which spares the script a string and a
   * number conversion per entry: one argument rather
   * than two per entry, which ioredis would frame and the server parse one
   * by one.
   */
  private settleCalls(settles: readonly Waiter[]): Array<{ args: Array<string | number>; waiters: Waiter[] }> {
    const byStream = new Map<string, Waiter[]>();
    for (const w of settles) {
      const same = byStream.get(w.stream);
      if (same === undefined) byStream.set(w.stream, [w]);
      else same.push(w);
    }
    const calls: Array<{ args: Array<string | number>; waiters: Waiter[] }> = [];
    for (const [stream, all] of byStream) {
      for (let from = 0; from < all.length; from += SETTLE_CHUNK) {
        const waiters = all.slice(from, from + SETTLE_CHUNK);
        const lists: string[] = [];
        const listIndex = new Map<string, number>();
        let ids = "";
        const codes: number[] = [];
        let uniform = true;
        let lowest = waiters[0]!.id;
        let highest = lowest;
        for (const w of waiters) {
          let index = 0;
          if (w.list !== undefined) {
            index = listIndex.get(w.list) ?? 0;
            if (index === 0) {
              lists.push(w.list);
              index = lists.length + 2;
              listIndex.set(w.list, index);
            }
          }
          if (compareIds(w.id, lowest) < 0) lowest = w.id;
          if (compareIds(w.id, highest) > 0) highest = w.id;
          const code = index * 4 + (w.fresh ? 2 : 0) + (w.started ? 1 : 0);
          if (code !== codes[0] && codes.length > 0) uniform = false;
          codes.push(code);
          ids += `${ids === "" ? "" : " "}${w.id}`;
        }
        const remove = waiters[0]!.remove ? "1" : "0";
        const head = [2 + lists.length, stream, this.links.starts, ...lists, this.links.group, this.links.consumer, remove, lowest, highest];
        const entries = uniform ? [ids, codes[0]!] : [waiters.map((w, i) => `${w.id}:${codes[i]}`).join(" ")];
        calls.push({ args: [...head, ...entries], waiters });
      }
    }
    return calls;
  }
}

/**
 * Order of two stream ids `<ms>-<seq>` (decimal, no leading zeros: a longer
 * part is a larger one). Compared in place, character by character: a
 * settle compares each entry's id twice, and slicing the parts out made
 * four strings per comparison.
 */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf("-");
  const db = b.indexOf("-");
  if (da !== db) return da - db;
  for (let i = 0; i < da; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  const sa = a.length - da;
  const sb = b.length - db;
  if (sa !== sb) return sa - sb;
  for (let i = da + 1; i < a.length; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The release ledger kept in a RabbitMQ stream (`missive.releases`), so it
 * holds across processes: a consumer giving messages back appends
 * {group, id, prior} with a confirm before the message returns to the queue,
 * and a consumer receiving a redelivered message reads the stream up to a
 * barrier it appended after the message arrived, so it has seen every
 * release made before. Reads are needed only for redelivered messages.
 * If the ledger cannot be read in time the release counts as an attempt:
 * the safe direction (a retry budget used up early, never an extra retry).
 */
import { randomUUID } from "node:crypto";
import type { Channel, ConsumeMessage } from "amqplib";
import { RELEASE_STREAM } from "./names.js";
import type { ReleaseLedger } from "./release-ledger.js";
import { StreamAppender, declareStream } from "./stream-reader.js";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

/** Releases matter for minutes (a restart); segments small enough for the age limit to bite. */
export const RELEASE_STREAM_ARGS = { "x-max-age": "2h", "x-stream-max-segment-size-bytes": 1_000_000 } as const;

/** How far back a new reader starts, and how long records are kept in memory. */
const WINDOW_MS = 60 * 60 * 1000;
/** Most (group, message) pairs remembered; the oldest go first. */
const MAX_ENTRIES = 100_000;
/** A read that cannot reach its barrier within this counts no releases. */
const BARRIER_TIMEOUT_MS = 3000;
/** A release or barrier append the broker has not confirmed by then fails (the release then counts as an attempt). */
const APPEND_CONFIRM_MS = 5000;

interface Barrier {
  readonly nonce: string;
  readonly startedAt: number;
  readonly reached: Promise<boolean>;
  resolve(reached: boolean): void;
}

export class StreamReleaseLedger implements ReleaseLedger {
  /** Key `group\0id` → the `prior` of each release, in arrival order (a Map keeps insertion order for eviction). */
  private readonly releases = new Map<string, { at: number; priors: number[] }>();
  private reader: Promise<Channel> | undefined;
  private nextOffset: number | undefined;
  private declared: Promise<void> | undefined;
  private barrier: Barrier | undefined;
  /** When the last barrier that was read back was appended: every release recorded before then has been read. */
  private readUpTo = Number.NEGATIVE_INFINITY;
  private closed = false;

  /**
   * Appends on a confirm channel of its own, not through the service's Publisher: after a node restart the
   * stream can come back later than the queues, and unconfirmed ledger appends on the shared channel held up
   * the consumer's retries and dead letters behind them. Bounded like a barrier read.
   */
  private readonly appender: StreamAppender;

  constructor(
    private readonly session: AmqpSession,
    /** False with `declare: false`: the stream is only checked (missive topology declares it). */
    private readonly mayDeclare: boolean,
  ) {
    this.appender = new StreamAppender(session, RELEASE_STREAM, APPEND_CONFIRM_MS);
  }

  async noteRelease(group: string, messageId: string, prior: number): Promise<void> {
    await this.append({ g: group, id: messageId, p: prior });
  }

  async releasesOf(group: string, messageId: string, from: number, upTo: number, since = Date.now()): Promise<number> {
    if (this.closed) return 0;
    // sync() never rejects: a failure resolves it false (logged where it failed).
    const reached = await this.sync(since);
    if (!reached) {
      this.session.context.log.warn({ group, messageId }, "rabbitmq: the release ledger was not read in time; this delivery may count a release as an attempt");
      return 0;
    }
    const entry = this.releases.get(`${group}\u0000${messageId}`);
    if (!entry) return 0;
    let n = 0;
    for (const p of entry.priors) if (p >= from && p < upTo) n++;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.barrier?.resolve(false);
    // A reader that failed to open has nothing to close; its opening's callers saw why.
    const reader = await this.reader?.catch((err: unknown) => this.session.context.log.debug({ err }, "rabbitmq: the release ledger reader never opened"));
    this.reader = undefined;
    await closeChannel(reader ?? undefined, this.session.context, "release ledger reader");
    await this.appender.close();
  }

  /**
   * Whether every release recorded before `since` has been read: at once when a barrier appended at or
   * after `since` was read back already; else append a barrier (or join one appended at or after
   * `since`) and wait until the reader has read it, or give up after BARRIER_TIMEOUT_MS.
   */
  private sync(since: number): Promise<boolean> {
    if (since <= this.readUpTo) return Promise.resolve(true);
    const now = Date.now();
    // A barrier started at or after `since` covers every release recorded before it: join it rather than appending another.
    if (this.barrier && this.barrier.startedAt >= since) return this.barrier.reached;
    let resolve!: (reached: boolean) => void;
    const reached = new Promise<boolean>((r) => (resolve = r));
    const barrier: Barrier = { nonce: randomUUID(), startedAt: now, reached, resolve };
    this.barrier = barrier;
    const timer = setTimeout(() => barrier.resolve(false), BARRIER_TIMEOUT_MS);
    void reached.then(() => {
      clearTimeout(timer);
      if (this.barrier === barrier) this.barrier = undefined;
    });
    void (async () => {
      await this.ensureReader();
      await this.append({ sync: barrier.nonce });
    })().catch((err: unknown) => {
      this.session.context.log.warn({ err }, "rabbitmq: syncing with the release ledger failed");
      barrier.resolve(false);
    });
    return reached;
  }

  private async append(record: Record<string, unknown>): Promise<void> {
    await this.declare();
    await this.appender.append([record]);
  }

  private declare(): Promise<void> {
    if (!this.declared) {
      this.declared = declareStream(this.session, RELEASE_STREAM, RELEASE_STREAM_ARGS, this.mayDeclare);
      // Forget a failed declaration so the next call tries again; the awaiting caller gets the error itself.
      this.declared.catch(() => (this.declared = undefined));
    }
    return this.declared;
  }

  private ensureReader(): Promise<Channel> {
    if (!this.reader) {
      const opening = (async () => {
        await this.declare();
        const { model } = await this.session.connection();
        const ch = await model.createChannel();
        logChannelErrors(ch, this.session.context, "release ledger reader", "warn");
        ch.on("close", () => {
          if (this.reader === opening) this.reader = undefined;
        });
        await ch.prefetch(1000);
        // A typed AMQP timestamp (seconds): a stream offset "from this time on".
        const offset = this.nextOffset ?? { "!": "timestamp", value: Math.floor((Date.now() - WINDOW_MS) / 1000) };
        await ch.consume(RELEASE_STREAM, (message) => {
          if (!message) return;
          this.read(message);
          ch.ack(message);
        }, { noAck: false, arguments: { "x-stream-offset": offset } });
        return ch;
      })();
      // Forget a failed opening so the next call tries again; the awaiting caller gets the error itself.
      opening.catch(() => {
        if (this.reader === opening) this.reader = undefined;
      });
      this.reader = opening;
    }
    return this.reader;
  }

  private read(message: ConsumeMessage): void {
    const offset = Number(message.properties.headers?.["x-stream-offset"]);
    if (Number.isSafeInteger(offset)) this.nextOffset = offset + 1;
    let record: unknown;
    try {
      record = JSON.parse(message.content.toString("utf8"));
    } catch {
      return; // not ours
    }
    if (record === null || typeof record !== "object") return;
    const r = record as { g?: unknown; id?: unknown; p?: unknown; sync?: unknown };
    if (typeof r.sync === "string") {
      if (this.barrier?.nonce === r.sync) {
        this.readUpTo = Math.max(this.readUpTo, this.barrier.startedAt);
        this.barrier.resolve(true);
      }
      return;
    }
    if (typeof r.g !== "string" || typeof r.id !== "string" || typeof r.p !== "number") return;
    const key = `${r.g}\u0000${r.id}`;
    const now = Date.now();
    const entry = this.releases.get(key);
    if (entry) {
      entry.priors.push(r.p);
      entry.at = now;
      return;
    }
    this.releases.set(key, { at: now, priors: [r.p] });
    for (const [k, v] of this.releases) {
      if (this.releases.size <= MAX_ENTRIES && now - v.at < WINDOW_MS) break;
      this.releases.delete(k);
    }
  }
}

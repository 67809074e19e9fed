/**
 * The outbox relay (docs/contract.md §8), dialect-independent: claims rows from a
 * `RelaySource`, publishes them through any missive Transport (resolving only
 * after the broker's confirm), and marks them sent. The source decides which
 * rows a relay may claim so that, with several relays on one table, no two
 * ever publish rows of the same key at once (docs/adr/003-outbox-relay.md).
 *
 * A row is marked sent only after its confirm; a crash between the two
 * publishes it again under the same id (an inbox absorbs the copy). When a
 * row fails on its own (e.g. UnroutableError) the rest of its key stays
 * unsent, so a later row never overtakes it: a claim with several rows of a
 * key goes out in waves, each row after the one before it is confirmed. When
 * the database or the broker is down the relay backs off with exponential
 * delays and full jitter.
 */
import { ConfigurationError, isFatal, MissiveError, PublishTimeoutError } from "../errors.js";
import { noopLogger, type Logger } from "../observability/logger.js";
import { observeOutboxLag, refreshOutboxLag } from "../observability/telemetry.js";
import { fullJitterDelay, sleep, type Random } from "../runtime/backoff.js";
import type { OutgoingMessage, PublishResult, Transport } from "../transport/transport.js";
import type { OutboxLag } from "./outbox.js";
import type { RelayRow, RelaySource } from "./relay-source.js";
import { intOption, optionsObject } from "./sql/names.js";
import { wirePriority } from "../envelope/expiry-priority.js";

export interface RelayOptions {
  /** Where rows are published; the relay connects it, never closes it. */
  readonly transport: Transport;
  /** Most rows per claim and per transport batch. Default 256. */
  readonly batchSize?: number;
  /** How long an idle relay waits before looking again, ms (a PostgreSQL NOTIFY wakes it sooner). Default per store. */
  readonly pollIntervalMs?: number;
  /** Keep sent rows this long, ms, then delete them. Default 7 days; 0 deletes them at the next cleanup. */
  readonly retentionMs?: number;
  /** How often the relay deletes expired sent rows, ms. Default 60 000. */
  readonly cleanupIntervalMs?: number;
  /** Rows per cleanup DELETE (cleanup loops in chunks of this size). Default 1000. */
  readonly cleanupChunk?: number;
  /**
   * Give up on a transport publish after this long, ms: the claim is let go
   * (rows stay unsent, locks released) and the relay backs off. A publish that
   * still lands later makes a duplicate (same id), never a loss. Default 30 000.
   */
  readonly publishTimeoutMs?: number;
  /** Backoff while the database or broker fails: first delay cap and largest delay, ms. Default 100 and 30 000. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  readonly logger?: Logger;
  /** Uniform [0, 1) numbers for jitter. Default Math.random. */
  readonly random?: Random;
}

export interface RelayStats {
  /** Rows confirmed by the transport and marked sent. */
  readonly published: number;
  /** Claim → publish → settle rounds that moved at least one row. */
  readonly batches: number;
  /** Rounds that failed (database or broker) and backed off. */
  readonly failures: number;
}

export interface OutboxRelay {
  /** Stop after the current round (its rows are settled or abandoned) and release the relay's connections. */
  stop(): Promise<void>;
  /** Resolves when no unsent row is left (or rejects after `timeoutMs`, default 30 000). */
  drain(timeoutMs?: number): Promise<void>;
  /** Unsent rows and the age of the oldest: the relay's lag. */
  lag(): Promise<OutboxLag>;
  /** Delete sent rows older than the retention now, in chunks; resolves with how many. */
  cleanup(): Promise<number>;
  /** Look for rows now instead of at the next poll (e.g. right after a commit on SQLite or MySQL). */
  wake(): void;
  readonly stats: RelayStats;
}

export interface RelayDefaults {
  readonly pollIntervalMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Start a relay on `source`. Options are checked here, once. */
export function startRelay(source: RelaySource, given: RelayOptions, defaults: RelayDefaults): OutboxRelay {
  const o = optionsObject<RelayOptions>(given, `${source.name} relay`);
  const transport = o.transport;
  if (!transport || typeof transport !== "object" || typeof transport.publish !== "function") throw new ConfigurationError(`${source.name} relay: \`transport\` must be a missive Transport`);
  const backoff = optionsObject<{ baseMs: number; maxMs: number }>(o.backoff, `${source.name} relay backoff`);
  if (o.logger !== undefined && (o.logger === null || typeof o.logger.warn !== "function")) throw new ConfigurationError(`${source.name} relay: \`logger\` must be a Logger`);
  if (o.random !== undefined && typeof o.random !== "function") throw new ConfigurationError(`${source.name} relay: \`random\` must be a function`);
  const settings: Settings = {
    batchSize: intOption(o.batchSize, 256, 1, 10_000, "relay batchSize"),
    pollIntervalMs: intOption(o.pollIntervalMs, defaults.pollIntervalMs, 1, 600_000, "relay pollIntervalMs"),
    retentionMs: intOption(o.retentionMs, 7 * DAY_MS, 0, 3650 * DAY_MS, "relay retentionMs"),
    cleanupIntervalMs: intOption(o.cleanupIntervalMs, 60_000, 10, 7 * DAY_MS, "relay cleanupIntervalMs"),
    cleanupChunk: intOption(o.cleanupChunk, 1000, 1, 100_000, "relay cleanupChunk"),
    publishTimeoutMs: intOption(o.publishTimeoutMs, 30_000, 1, 3_600_000, "relay publishTimeoutMs"),
    baseMs: intOption(backoff.baseMs, 100, 1, 600_000, "relay backoff.baseMs"),
    maxMs: intOption(backoff.maxMs, 30_000, 1, 3_600_000, "relay backoff.maxMs"),
  };
  return new Relay(source, transport, settings, o.logger ?? noopLogger, o.random ?? Math.random);
}

interface Settings {
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly retentionMs: number;
  readonly cleanupIntervalMs: number;
  readonly cleanupChunk: number;
  readonly publishTimeoutMs: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The message a row publishes: the stored wire, topic, key and id, unchanged. */
export function toOutgoing(row: RelayRow): OutgoingMessage {
  // The stored message's priority (binary mode: its `ce-priority` header) goes with it.
  const priority = wirePriority(row.wire.headers);
  return priority === undefined ? { topic: row.topic, id: row.id, key: row.key, wire: row.wire } : { topic: row.topic, id: row.id, key: row.key, wire: row.wire, priority };
}

/**
 * A claimed batch in waves: wave i holds the i-th row of every lane, in claim
 * order. The relay sends a wave only after the one before it was confirmed,
 * and leaves out the lanes that had a row refused, so no row of a key ever
 * goes out before the rows ahead of it are confirmed. A batch with one row per
 * lane (the usual case) is one wave: the claimed rows themselves.
 */
export function waves(rows: readonly RelayRow[]): ReadonlyArray<readonly RelayRow[]> {
  const depth = new Map<string, number>();
  const out: RelayRow[][] = [];
  for (const row of rows) {
    const d = depth.get(row.lane) ?? 0;
    depth.set(row.lane, d + 1);
    (out[d] ??= []).push(row);
  }
  return out.length === 1 ? [rows] : out;
}

class Relay implements OutboxRelay {
  private published = 0;
  private batches = 0;
  private failures = 0;
  private readonly stopping = new AbortController();
  private wakeUp = new AbortController();
  private readonly loop: Promise<void>;
  private nextCleanup: number;
  private readonly unobserve: () => void;

  constructor(
    private readonly source: RelaySource,
    private readonly transport: Transport,
    private readonly s: Settings,
    private readonly log: Logger,
    private readonly random: Random,
  ) {
    this.nextCleanup = Date.now() + Math.floor(this.random() * s.cleanupIntervalMs);
    this.unobserve = observeOutboxLag({ store: source.name, table: source.table, read: () => source.lag() });
    this.loop = this.run();
  }

  get stats(): RelayStats {
    return { published: this.published, batches: this.batches, failures: this.failures };
  }

  wake(): void {
    this.wakeUp.abort();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeUp.abort();
    this.unobserve();
    await this.loop;
    await this.source.close();
  }

  lag(): Promise<OutboxLag> {
    return this.source.lag();
  }

  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { unsent } = await this.source.lag();
      if (unsent === 0) return;
      if (Date.now() > deadline) throw new MissiveError("MISSIVE_PUBLISH_TIMEOUT", `${this.source.name} relay: ${unsent} row(s) still unsent after ${timeoutMs} ms`);
      this.wake();
      await sleep(Math.min(50, this.s.pollIntervalMs));
    }
  }

  cleanup(): Promise<number> {
    return this.sweep(undefined);
  }

  /** Delete expired sent rows chunk by chunk, until a chunk comes back short (or `signal` aborts). */
  private async sweep(signal: AbortSignal | undefined): Promise<number> {
    const before = Date.now() - this.s.retentionMs;
    let total = 0;
    for (;;) {
      const n = await this.source.deleteSent(before, this.s.cleanupChunk);
      total += n;
      if (n < this.s.cleanupChunk || signal?.aborted) return total;
    }
  }

  private async run(): Promise<void> {
    let failuresInARow = 0;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let moved: number;
      try {
        if (failuresInARow === 0 && Date.now() >= this.nextCleanup) {
          this.nextCleanup = Date.now() + this.s.cleanupIntervalMs;
          await this.sweep(signal);
        }
        refreshOutboxLag();
        await this.transport.connect();
        moved = await this.round();
        failuresInARow = 0;
      } catch (err) {
        this.failures++;
        failuresInARow++;
        if (isFatal(err)) this.log.error({ err }, `${this.source.name} relay: configuration or credentials refused; retrying`);
        const delay = fullJitterDelay(failuresInARow, { baseMs: this.s.baseMs, maxMs: this.s.maxMs }, this.random);
        this.log.warn({ err, attempt: failuresInARow, delayMs: delay }, `${this.source.name} relay: round failed; backing off`);
        await sleep(delay, signal);
        continue;
      }
      if (moved === 0 && !signal.aborted) {
        // stop() aborts the wake-up signal too, so one signal serves both (no AbortSignal.any per idle poll).
        if (!this.wakeUp.signal.aborted) await this.source.wait(this.s.pollIntervalMs, this.wakeUp.signal);
        if (this.wakeUp.signal.aborted && !signal.aborted) this.wakeUp = new AbortController();
      }
    }
  }

  /** The transport's publish, or a PublishTimeoutError after `publishTimeoutMs`. */
  private publishWithin(rows: readonly RelayRow[]): Promise<PublishResult[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(`${this.source.name} relay: the transport did not confirm ${rows.length} row(s) within ${this.s.publishTimeoutMs} ms`)), this.s.publishTimeoutMs);
    });
    const publish = this.transport.publish(rows.map(toOutgoing));
    // After a timeout the race has already failed the round; a late rejection changes nothing (the rows stay unsent).
    publish.catch((err: unknown) => this.log.debug({ err }, `${this.source.name} relay: a publish failed after its timeout`));
    return Promise.race([publish, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * One claim → publish (wave by wave) → settle; resolves with rows marked
   * sent (0: nothing to do). Throws to back off: after a refusal (the
   * confirmed rows are marked first), or when the transport fails (rows
   * confirmed by earlier waves are marked, the rest stay unsent).
   */
  private async round(): Promise<number> {
    const batch = await this.source.claim(this.s.batchSize);
    if (!batch) return 0;
    if (batch.rows.length === 0) {
      await batch.abandon();
      return 0;
    }
    const sent: RelayRow[] = [];
    const failed: Array<{ row: RelayRow; error: Error }> = [];
    /** Lanes with a refused row in this claim: their later rows wait for the next claim. */
    let refused: Set<string> | undefined;
    let broken: { err: unknown } | undefined;
    for (const wave of waves(batch.rows)) {
      const skip = refused;
      const rows = skip === undefined ? wave : wave.filter((r) => !skip.has(r.lane));
      // A wave's lanes are among the previous wave's: once one is empty, so are the rest.
      if (rows.length === 0) break;
      let results: PublishResult[];
      try {
        results = await this.publishWithin(rows);
      } catch (err) {
        broken = { err };
        break;
      }
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const error = results[i];
        if (error) {
          failed.push({ row, error });
          (refused ??= new Set()).add(row.lane);
        } else sent.push(row);
      }
    }
    if (broken && sent.length === 0 && failed.length === 0) {
      await batch.abandon();
      throw broken.err;
    }
    await batch.settle(sent, failed);
    this.published += sent.length;
    this.batches++;
    if (broken) throw broken.err;
    if (failed.length > 0) {
      const first = failed[0]!;
      throw new MissiveError("MISSIVE_UNKNOWN", `${failed.length} outbox row(s) refused by the transport, first ${first.row.id}: ${first.error.message}`, { cause: first.error });
    }
    return sent.length;
  }
}

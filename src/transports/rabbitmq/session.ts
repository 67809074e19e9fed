/**
 * One AMQP connection, kept alive: when it is lost it is re-opened with
 * exponential backoff and full jitter, and every component that registered
 * `onReconnect` re-creates its channels (publisher, subscriptions). Callers
 * that need the connection while it is down wait for the next one. The
 * broker's `connection.blocked` (memory or disk alarm) is tracked so
 * publishers can wait instead of piling messages into a blocked socket.
 * The session carries the transport's context (the bus's logger and status
 * reports) for every part that shares the connection; it reports the
 * connection going `down` and coming back `up`.
 */
import amqp, { type ChannelModel } from "amqplib";
import { ClosedError, ConnectionError, isFatal, type MissiveError } from "../../errors.js";
import { fullJitterDelay, sleep } from "../../runtime/backoff.js";
import { ContextSlot, reasonOf } from "../../transport/context.js";
import { FailureStreak } from "../../transport/failure-streak.js";
import { toAmqpError } from "./amqp-errors.js";
import type { ResolvedRabbitmqOptions } from "./options.js";

export interface LiveConnection {
  readonly model: ChannelModel;
  /** Increments with every new connection: channels of an older one are dead. */
  readonly generation: number;
}

export class AmqpSession {
  private live: LiveConnection | undefined;
  private opening: Promise<LiveConnection> | undefined;
  private generation = 0;
  /** Index in `options.urls` of the node the next connection attempt tries first. */
  private nextUrl = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private readonly reconnectListeners = new Set<(live: LiveConnection) => void>();
  private readonly lostListeners = new Set<() => void>();
  /** Why the broker blocks publishers, while it does. */
  private blockedReason: string | undefined;
  private unblockWaiters: Array<() => void> = [];
  /** The last reason the connection could not be opened (for errors of waiters that give up). */
  lastError: MissiveError | undefined;
  /** The bus's logger and reporter, once connect() received them; every part of the transport logs here. */
  readonly context = new ContextSlot();
  private readonly reconnects = new FailureStreak(this.context, { what: "rabbitmq: reconnecting" });

  constructor(private readonly options: ResolvedRabbitmqOptions) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Open the first connection: one attempt, so a wrong password or host fails fast with a typed error. */
  async connect(): Promise<void> {
    if (this.live || this.closed) {
      if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
      return;
    }
    if (!this.opening) {
      this.opening = this.open().finally(() => (this.opening = undefined));
    }
    await this.opening;
  }

  /** The live connection; while it is down, waits for the reconnect (up to `waitMs`), then rejects with the last error. */
  async connection(waitMs = Number.POSITIVE_INFINITY): Promise<LiveConnection> {
    if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
    if (this.live) return this.live;
    if (!this.opening) this.opening = this.reconnectLoop().finally(() => (this.opening = undefined));
    if (!Number.isFinite(waitMs)) return this.opening;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.lastError ?? new ConnectionError("rabbitmq: no connection")), waitMs);
    });
    try {
      return await Promise.race([this.opening, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `fn` runs after every reconnect (not the first connect) with the new connection. */
  onReconnect(fn: (live: LiveConnection) => void): () => void {
    this.reconnectListeners.add(fn);
    return () => this.reconnectListeners.delete(fn);
  }

  /** `fn` runs when the connection is lost. */
  onLost(fn: () => void): () => void {
    this.lostListeners.add(fn);
    return () => this.lostListeners.delete(fn);
  }

  /** Resolves once the broker lets publishers through; rejects with ConnectionError after `waitMs` of blocking. */
  async whenUnblocked(waitMs: number): Promise<void> {
    if (this.blockedReason === undefined) return;
    const reason = this.blockedReason;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.unblockWaiters.push(done);
      timer = setTimeout(() => {
        this.unblockWaiters = this.unblockWaiters.filter((w) => w !== done);
        reject(new ConnectionError(`rabbitmq: the broker has blocked publishing for ${waitMs} ms (${reason})`));
      }, waitMs);
    });
  }

  get blocked(): string | undefined {
    return this.blockedReason;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.releaseBlocked();
    const live = this.live;
    this.live = undefined;
    // An opening under way fails with ClosedError now; its own waiters see that.
    await this.opening?.catch((err: unknown) => this.context.log.debug({ err }, "rabbitmq: a connection attempt ended by close"));
    if (live) await live.model.close().catch((err: unknown) => this.context.log.debug({ err }, "rabbitmq: closing the connection failed; it was gone already"));
  }

  /** Drop the connection as a crash or a network fault would (tests, `kill`): nothing closes cleanly. */
  destroy(): void {
    const live = this.live;
    this.closed = true;
    this.closing.abort();
    this.live = undefined;
    const stream = (live?.model.connection as unknown as { stream?: { destroy(): void } } | undefined)?.stream;
    stream?.destroy();
    // `lost` ignores the close event of a connection no longer live, so tell the channels' users here:
    // without it their held deliveries "ack" into a dead channel instead of rejecting with LeaseLostError.
    if (live) for (const fn of this.lostListeners) fn();
  }

  private async open(): Promise<LiveConnection> {
    const model = await this.connectAny();
    if (this.closed) {
      await model.close().catch((err: unknown) => this.context.log.debug({ err }, "rabbitmq: closing a connection opened during close failed"));
      throw new ClosedError("the rabbitmq transport is closed");
    }
    const live: LiveConnection = { model, generation: ++this.generation };
    this.live = live;
    this.lastError = undefined;
    model.on("error", () => {
      // 'close' follows with the same error; handled there.
    });
    model.on("close", (err: unknown) => this.lost(live, err));
    model.on("blocked", (reason: string) => {
      this.blockedReason = String(reason || "resource alarm");
      this.context.log.warn({ reason: this.blockedReason }, "rabbitmq: the broker blocks publishing (a resource alarm); publishes wait");
    });
    model.on("unblocked", () => {
      this.context.log.info({}, "rabbitmq: the broker lets publishing through again");
      this.releaseBlocked();
    });
    return live;
  }

  private lost(live: LiveConnection, err: unknown): void {
    if (this.live !== live) return;
    this.live = undefined;
    // Its node may be the one that died: with failover URLs, try the next node first.
    this.nextUrl = (this.nextUrl + 1) % this.options.urls.length;
    this.releaseBlocked();
    for (const fn of this.lostListeners) fn();
    if (this.closed) return;
    // amqplib closes with no error when the server closed the connection cleanly (an operator, a restart).
    const reason = err === undefined ? "closed by the broker" : reasonOf(err);
    this.context.log.warn({ err, reason }, "rabbitmq: connection lost; reconnecting");
    this.context.report({ kind: "connection", state: "down", reason });
    // Reconnect in the background so consumers come back without anyone asking.
    if (!this.opening) this.opening = this.reconnectLoop().finally(() => (this.opening = undefined));
    this.opening.then(
      (next) => {
        this.context.log.info({ generation: next.generation }, "rabbitmq: connection restored");
        this.context.report({ kind: "connection", state: "up" });
        for (const fn of this.reconnectListeners) fn(next);
      },
      // The loop only gives up when the transport closes: nothing to restore.
      (e: unknown) => this.context.log.debug({ err: e }, "rabbitmq: reconnecting stopped: the transport closed"),
    );
  }

  private async reconnectLoop(): Promise<LiveConnection> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
      try {
        const live = await this.open();
        this.reconnects.ok();
        return live;
      } catch (err) {
        if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
        this.lastError = toAmqpError(err, "rabbitmq: reconnecting failed");
        // Refused credentials keep failing until someone fixes them: error, not warn.
        this.reconnects.fail(this.lastError, isFatal(this.lastError));
        await sleep(fullJitterDelay(attempt, { baseMs: this.options.reconnectBaseMs, maxMs: this.options.reconnectMaxMs }, Math.random) + 10, this.closing.signal);
      }
    }
  }

  private releaseBlocked(): void {
    this.blockedReason = undefined;
    for (const w of this.unblockWaiters.splice(0)) w();
  }

  /** One attempt on each URL in turn (one URL unless `failoverUrls` are set), from `nextUrl`; the last error if none answers. */
  private async connectAny(): Promise<ChannelModel> {
    const urls = this.options.urls;
    for (let tried = 0; ; tried++) {
      const index = (this.nextUrl + tried) % urls.length;
      try {
        const model = await amqp.connect(this.urlWithDefaults(urls[index] ?? this.options.url), {
          ...(this.options.tls ?? {}),
          clientProperties: { connection_name: this.options.connectionName, product: "missive" },
          timeout: this.options.connectTimeoutMs,
        });
        this.nextUrl = index;
        return model;
      } catch (err) {
        this.lastError = toAmqpError(err, "rabbitmq: connecting failed");
        if (tried + 1 >= urls.length || this.closed) throw this.lastError;
        this.context.log.debug({ err: this.lastError }, "rabbitmq: a node did not answer; trying the next failover URL");
      }
    }
  }

  private urlWithDefaults(raw: string): string {
    const url = new URL(raw);
    if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(this.options.heartbeatSeconds));
    return url.toString();
  }
}

/**
 * One AMQP connection, kept alive: when it is lost it is re-opened with
 * exponential backoff and full jitter, and every component that registered
 * `onReconnect` re-creates its channels (publisher, subscriptions). Callers
 * that need the connection while it is down wait for the next one. The
 * broker's `connection.blocked` (memory or disk alarm) is tracked so
 * publishers can wait instead of piling messages into a blocked socket.
 */
import amqp, { type ChannelModel } from "amqplib";
import { ClosedError, ConnectionError, type MissiveError } from "../../errors.js";
import { fullJitterDelay, sleep } from "../../runtime/backoff.js";
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
  private closed = false;
  private readonly closing = new AbortController();
  private readonly reconnectListeners = new Set<(live: LiveConnection) => void>();
  private readonly lostListeners = new Set<() => void>();
  /** Why the broker blocks publishers, while it does. */
  private blockedReason: string | undefined;
  private unblockWaiters: Array<() => void> = [];
  /** The last reason the connection could not be opened (for errors of waiters that give up). */
  lastError: MissiveError | undefined;

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
    await this.opening?.catch(() => undefined);
    if (live) await live.model.close().catch(() => undefined);
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
    let model: ChannelModel;
    try {
      model = await amqp.connect(this.urlWithDefaults(), {
        ...(this.options.tls ?? {}),
        clientProperties: { connection_name: this.options.connectionName, product: "missive" },
        timeout: this.options.connectTimeoutMs,
      });
    } catch (err) {
      this.lastError = toAmqpError(err, "rabbitmq: connecting failed");
      throw this.lastError;
    }
    if (this.closed) {
      await model.close().catch(() => undefined);
      throw new ClosedError("the rabbitmq transport is closed");
    }
    const live: LiveConnection = { model, generation: ++this.generation };
    this.live = live;
    this.lastError = undefined;
    model.on("error", () => {
      // 'close' follows with the same error; handled there.
    });
    model.on("close", () => this.lost(live));
    model.on("blocked", (reason: string) => {
      this.blockedReason = String(reason || "resource alarm");
    });
    model.on("unblocked", () => this.releaseBlocked());
    return live;
  }

  private lost(live: LiveConnection): void {
    if (this.live !== live) return;
    this.live = undefined;
    this.releaseBlocked();
    for (const fn of this.lostListeners) fn();
    if (this.closed) return;
    // Reconnect in the background so consumers come back without anyone asking.
    if (!this.opening) this.opening = this.reconnectLoop().finally(() => (this.opening = undefined));
    this.opening.then(
      (next) => {
        for (const fn of this.reconnectListeners) fn(next);
      },
      () => undefined,
    );
  }

  private async reconnectLoop(): Promise<LiveConnection> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
      try {
        return await this.open();
      } catch (err) {
        if (this.closed) throw new ClosedError("the rabbitmq transport is closed");
        this.lastError = toAmqpError(err, "rabbitmq: reconnecting failed");
        await sleep(fullJitterDelay(attempt, { baseMs: this.options.reconnectBaseMs, maxMs: this.options.reconnectMaxMs }, Math.random) + 10, this.closing.signal);
      }
    }
  }

  private releaseBlocked(): void {
    this.blockedReason = undefined;
    for (const w of this.unblockWaiters.splice(0)) w();
  }

  private urlWithDefaults(): string {
    const url = new URL(this.options.url);
    if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(this.options.heartbeatSeconds));
    return url.toString();
  }
}

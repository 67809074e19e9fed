/**
 * The producer's view of the broker: up or down, and a circuit breaker that
 * stops it hammering a broker that does not confirm. An outage is detected
 * when a publish fails `breaker.threshold` times in a row, or at once when a
 * batch goes unconfirmed for `outageAfterMs` (a silent blackhole never fails
 * a publish by itself). While the breaker is open nothing is sent; after a
 * cool-down (backoff with jitter) one probe goes out, and its confirm closes
 * the breaker and marks the broker up. When nothing is published meanwhile
 * (no spool, no traffic), the probe is the transport's ping (BrokerPing)
 * where it has one, so the broker is seen up again, and the service ready,
 * without waiting for a publish that a not-ready service may never get. A
 * transport that knows at once its
 * connection dropped (a reset, a close) reports it, and the outage is
 * announced then, not only after `outageAfterMs`; when it reports the
 * connection back, the broker is up again unless a publish meanwhile opened
 * the breaker (then its probe's confirm says so). Every change is a status
 * event.
 */
import type { Logger } from "../observability/logger.js";
import type { Random } from "./backoff.js";
import { CircuitBreaker, type BreakerOptions, type BreakerState } from "./circuit-breaker.js";
import type { StatusEvents } from "./status.js";

/** How often a caller waiting behind another's probe looks again, ms. */
const PROBE_RECHECK_MS = 250;

export class BrokerHealth {
  private readonly breaker: CircuitBreaker;
  private downSince: number | undefined;
  private waiters: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The current outage is the transport's reported connection loss (not yet a failed or unconfirmed publish). */
  private connectionLost = false;
  private readonly offTransport: () => void;
  private pinging = false;
  private closed = false;

  constructor(
    breaker: BreakerOptions,
    random: Random,
    private readonly events: StatusEvents,
    private readonly log: Logger,
    private readonly onChange: () => void = () => {},
    /** The transport's ping, when it has one: the probe that goes out when no publish takes the half-open slot. */
    private readonly ping?: () => Promise<void>,
  ) {
    this.breaker = new CircuitBreaker(breaker, random, (state) => this.breakerChanged(state));
    this.offTransport = events.on((e) => {
      if (e.type === "transport" && e.event.kind === "connection") this.connectionChanged(e.event.state, e.event.reason);
    });
  }

  get up(): boolean {
    return this.downSince === undefined;
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  /** Unix ms the current outage began; `undefined` while up. */
  get downAt(): number | undefined {
    return this.downSince;
  }

  /** A publish (or probe) was confirmed: the broker is up. */
  confirmed(): void {
    this.breaker.success();
    this.backUp("broker confirms again");
    this.wake();
  }

  /** A publish failed (retryably). Enough of them in a row open the breaker: an outage. */
  failed(reason: string): void {
    this.breaker.failure();
    if (this.breaker.state === "open") this.down(reason);
  }

  /** An outage was detected another way (a confirm did not come in time): open the breaker now. */
  outage(reason: string): void {
    this.breaker.trip();
    this.down(reason);
  }

  /**
   * May an attempt go to the broker now? True when closed; when half-open,
   * true for the one probe (taken here). False while open: `waitMs()` says
   * for how long.
   */
  permit(): boolean {
    const allowance = this.breaker.allowance();
    if (allowance === 0) return false;
    if (allowance !== Number.POSITIVE_INFINITY) this.breaker.probeTaken();
    return true;
  }

  /** ms until a probe may go (0 when one may go now or the breaker is closed). */
  waitMs(): number {
    return this.breaker.waitMs();
  }

  /**
   * Resolves when the state may have changed: a confirm, an outage, or the
   * end of the current cool-down (at most `maxMs`). Never rejects.
   */
  changed(maxMs: number, signal?: AbortSignal): Promise<void> {
    // The cool-down may have ended since the caller asked (reading the state half-opens the breaker): then a
    // probe may go now, and nothing else would wake this caller.
    if (signal?.aborted || this.breaker.allowance() > 0) return Promise.resolve();
    // Open: until the cool-down ends. Half-open with someone else's probe out: look again now and then, since a
    // probe that is never answered stops holding its slot after a while.
    const until = this.breaker.state === "open" ? this.waitMs() : PROBE_RECHECK_MS;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, Math.max(1, Math.min(maxMs, until)));
      this.waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    this.offTransport();
    clearTimeout(this.timer);
    this.wake();
  }

  /** The transport's own word on its connection: announced at once (the breaker is left to publishes). */
  private connectionChanged(state: "down" | "up", reason: string | undefined): void {
    if (state === "down") {
      if (this.downSince !== undefined) return;
      this.down(`connection lost: ${reason ?? "no reason given"}`);
      this.connectionLost = true;
    } else if (this.connectionLost && this.breaker.state === "closed") {
      this.backUp("broker connection restored");
    }
  }

  private backUp(message: string): void {
    this.connectionLost = false;
    if (this.downSince === undefined) return;
    const downForMs = Date.now() - this.downSince;
    this.downSince = undefined;
    this.log.info({ downForMs }, message);
    this.events.emit({ type: "broker", state: "up", at: Date.now(), downForMs });
    this.onChange();
  }

  private down(reason: string): void {
    // A failed or unconfirmed publish during a reported connection loss: from now on only a confirm says it is up.
    this.connectionLost = false;
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.log.warn({ reason }, "broker outage detected");
    this.events.emit({ type: "broker", state: "down", at: this.downSince, reason });
    this.onChange();
    this.wake();
  }

  private breakerChanged(state: BreakerState): void {
    this.events.emit({ type: "breaker", state, at: Date.now() });
    this.onChange();
    // A half-open breaker lets a probe through: waiters must look again when the cool-down ends.
    clearTimeout(this.timer);
    if (state === "open") {
      this.timer = setTimeout(() => {
        void this.breaker.state;
        this.wake();
      }, Math.max(1, this.breaker.waitMs()));
      this.timer.unref?.();
    } else if (state === "half-open") {
      // Whoever read the state first (the timer above, a publish, a health check) half-opened it. Publishers woken
      // below take the probe slot first (in their permit(), before this runs); else the ping does.
      setImmediate(() => this.pingIfIdle());
    }
    this.wake();
  }

  /** The cool-down ended and no publish took the probe: ping, and let its answer close or reopen the breaker. */
  private pingIfIdle(): void {
    if (!this.ping || this.pinging || this.closed || this.breaker.state !== "half-open") return;
    if (!this.permit()) {
      // A publish's probe holds the slot; if it is never answered the slot frees after a while: look again then.
      setTimeout(() => this.pingIfIdle(), PROBE_RECHECK_MS).unref?.();
      return;
    }
    this.pinging = true;
    this.ping().then(
      () => {
        this.pinging = false;
        if (this.closed) return;
        this.log.info({}, "broker answered a ping after an outage");
        this.confirmed();
      },
      (err: unknown) => {
        this.pinging = false;
        if (this.closed) return;
        // Reopens the breaker with a longer cool-down; its end pings again.
        this.log.debug({ err }, "broker ping failed; the outage goes on");
        this.failed(`ping failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

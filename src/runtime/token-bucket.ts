/**
 * A token bucket: `perSecond` tokens a second flow into a bucket that holds at
 * most `burst`. Taking one token per message caps the sustained rate while
 * still letting a short burst through at once after an idle period. Used by
 * the producer (`publisher.rateLimit`) and the consumer (`rateLimit`), so a
 * burst cannot saturate a broker's memory or disk, or a handler's downstream.
 *
 * Waiters are served strictly first come, first served: a small request that
 * arrives later never overtakes a larger one already waiting, so no request
 * starves. A request larger than `burst` is allowed once the bucket is full
 * and leaves it in debt (negative), which later requests wait out: a big
 * batch is paced, never refused.
 */
import { ConfigurationError } from "../errors.js";

export interface RateLimitOptions {
  /** Sustained messages per second. */
  readonly perSecond: number;
  /** Most messages taken at once after an idle period. Default: perSecond (one second's worth), at least 1. */
  readonly burst?: number;
}

/** RateLimitOptions with the default applied and validated. */
export interface RateLimitSettings {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * The one place rate-limit defaults live, for the producer and the consumer alike. `what` names the option in
 * errors (`"rateLimit"`, `"publisher.rateLimit"`).
 */
export function rateLimitSettings(options: RateLimitOptions, what: string): RateLimitSettings {
  if (typeof options !== "object" || options === null) throw new ConfigurationError(`${what} must be an object like { perSecond: 100 }`);
  const { perSecond, burst } = options;
  if (typeof perSecond !== "number" || !Number.isFinite(perSecond) || perSecond <= 0) {
    throw new ConfigurationError(`${what}.perSecond must be a finite number above 0, got ${String(perSecond)}`);
  }
  const b = burst ?? Math.max(1, Math.floor(perSecond));
  if (!Number.isInteger(b) || b < 1) throw new ConfigurationError(`${what}.burst must be an integer of at least 1, got ${String(burst)}`);
  return { perSecond, burst: b };
}

/** A waiting take(): how many tokens, and how to end its wait. */
interface Waiter {
  readonly n: number;
  readonly resolve: () => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Float slack: tokens refilled over exactly waitMs() may land a hair below a whole number. */
const EPSILON = 1e-9;
/** A resolved promise to hand out on take()'s fast path, instead of a new one per call. */
const DONE: Promise<void> = Promise.resolve();
const monotonicMs = (): number => performance.now();

export class TokenBucket {
  readonly perSecond: number;
  readonly burst: number;
  private readonly perMs: number;
  /** Tokens in the bucket as of `last`; negative while a request larger than the burst is being paid off. */
  private tokens: number;
  private last: number;
  /** Waiting take()s, oldest first. */
  private readonly waiters: Waiter[] = [];
  /** Armed only while someone waits: an idle bucket holds no timer, a waiting take() keeps the process alive. */
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: RateLimitOptions, private readonly now: () => number = monotonicMs) {
    const s = rateLimitSettings(options, "rateLimit");
    this.perSecond = s.perSecond;
    this.burst = s.burst;
    this.perMs = s.perSecond / 1000;
    // Start full: the first burst after start-up goes at once, as after any idle period.
    this.tokens = s.burst;
    this.last = now();
  }

  /**
   * Take `n` tokens now if they are there (and nobody is waiting ahead): true when taken. Synchronous and
   * allocation-free, for the publish hot path.
   */
  tryTake(n = 1): boolean {
    checkCount(n);
    if (this.waiters.length > 0) return false;
    this.refill();
    if (this.tokens + EPSILON < this.needed(n)) return false;
    this.tokens -= n;
    return true;
  }

  /** ms until a take(n) made now would be served (the waiters ahead of it included); 0 when it would be now. */
  waitMs(n = 1): number {
    checkCount(n);
    this.refill();
    // Play the queue forward: each waiter waits until the bucket holds what it needs, then takes its n.
    let tokens = this.tokens;
    let shortfall = 0;
    for (const w of this.waiters) {
      shortfall += Math.max(0, this.needed(w.n) - tokens);
      tokens = Math.max(tokens, this.needed(w.n)) - w.n;
    }
    shortfall += Math.max(0, this.needed(n) - tokens - EPSILON);
    return shortfall <= 0 ? 0 : Math.ceil(shortfall / this.perMs);
  }

  /**
   * Resolves once `n` tokens are taken, after the requests already waiting. When `signal` aborts first, it
   * resolves at once *without* taking anything (so shutdown is never held up by a rate limit): check
   * `signal.aborted` afterwards. Never rejects.
   */
  take(n = 1, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return DONE;
    if (this.tryTake(n)) return DONE;
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { n, resolve, signal, onAbort: () => this.abandon(waiter) };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      if (this.waiters.length === 1) this.arm();
    });
  }

  /** What the bucket must hold before `n` are taken: all of them, or a full bucket when `n` exceeds the burst. */
  private needed(n: number): number {
    return n < this.burst ? n : this.burst;
  }

  private refill(): void {
    const t = this.now();
    // A clock that steps back (an injected one) adds nothing rather than draining the bucket.
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.perMs);
      this.last = t;
    }
  }

  /** Serve the waiters at the head that can be served now, then sleep until the next one can. */
  private serve(): void {
    // Also reached from abandon() with a timer still pending: never leave two armed.
    clearTimeout(this.timer);
    this.timer = undefined;
    this.refill();
    let head = this.waiters[0];
    while (head !== undefined && this.tokens + EPSILON >= this.needed(head.n)) {
      this.tokens -= head.n;
      this.waiters.shift();
      head.signal?.removeEventListener("abort", head.onAbort);
      head.resolve();
      head = this.waiters[0];
    }
    if (head !== undefined) this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const head = this.waiters[0];
    if (head === undefined) return;
    this.refill();
    const ms = Math.max(1, Math.ceil((this.needed(head.n) - this.tokens) / this.perMs));
    this.timer = setTimeout(() => this.serve(), ms);
  }

  /** An aborted waiter leaves the queue untaken; if it was the head, the next one may be servable now. */
  private abandon(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    waiter.resolve();
    if (i === 0) this.serve();
  }
}

function checkCount(n: number): void {
  // `!(n >= 0)` also catches NaN; Infinity would wait for ever.
  if (!(n >= 0) || n === Number.POSITIVE_INFINITY) throw new ConfigurationError(`a rate limit cannot take ${String(n)} tokens`);
}

/**
 * A circuit breaker: after `threshold` consecutive failures it opens. A
 * consumer's stops fetching (instead of burning every message's retry budget
 * against a dead dependency); the producer's stops sending to a dead broker. After a cool-down it lets one probe
 * through (half-open); a success closes it, a failure reopens it for longer.
 */
import type { Random } from "./backoff.js";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 10; 0 disables it. */
  readonly threshold: number;
  /** First cool-down, ms. Default 1000. Doubles (with jitter) on each reopen up to `maxCooldownMs`. */
  readonly cooldownMs: number;
  /** Largest cool-down, ms. Default 30000. */
  readonly maxCooldownMs: number;
}

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private opens = 0;
  private openUntil = 0;
  private probing = false;
  /** When an unanswered probe stops holding the half-open slot. */
  private probeExpiresAt = 0;
  private cooldown = 0;
  private stateValue: BreakerState = "closed";

  constructor(
    private readonly options: BreakerOptions,
    private readonly random: Random,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.stateValue === "open" && this.now() >= this.openUntil) this.set("half-open");
    return this.stateValue;
  }

  /** How many messages may be fetched now: all when closed, one probe when half-open, none when open. */
  allowance(): number {
    const s = this.state;
    if (s === "closed") return Number.POSITIVE_INFINITY;
    // A probe that got neither success() nor failure() within a cool-down (it was dead-lettered as
    // poison, or was a duplicate) must not hold the only slot for ever: let another probe through.
    if (s === "half-open") return this.probing && this.now() < this.probeExpiresAt ? 0 : 1;
    return 0;
  }

  /** ms until the breaker lets a probe through (0 when it already does). */
  waitMs(): number {
    return this.state === "open" ? Math.max(0, this.openUntil - this.now()) : 0;
  }

  /** A probe message was taken. */
  probeTaken(): void {
    if (this.state === "half-open") {
      this.probing = true;
      this.probeExpiresAt = this.now() + this.cooldown;
    }
  }

  success(): void {
    this.consecutiveFailures = 0;
    if (this.stateValue !== "closed") {
      this.opens = 0;
      this.probing = false;
      this.set("closed");
    }
  }

  failure(): void {
    if (this.options.threshold <= 0) return;
    this.consecutiveFailures++;
    const s = this.state;
    if (s === "half-open" || (s === "closed" && this.consecutiveFailures >= this.options.threshold)) this.open();
  }

  /** Open now, whatever the count: an outage was detected another way (a confirm that did not come in time). */
  trip(): void {
    if (this.options.threshold <= 0) return;
    this.consecutiveFailures = Math.max(this.consecutiveFailures, this.options.threshold);
    if (this.state !== "open") this.open();
  }

  private open(): void {
    this.opens++;
    const cap = Math.min(this.options.maxCooldownMs, this.options.cooldownMs * 2 ** Math.min(this.opens - 1, 20));
    // Half fixed, half jittered: never zero, and several consumers do not probe in lockstep.
    this.cooldown = cap / 2 + this.random() * (cap / 2);
    this.openUntil = this.now() + this.cooldown;
    this.probing = false;
    this.set("open");
  }

  private set(state: BreakerState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.onChange(state);
  }
}

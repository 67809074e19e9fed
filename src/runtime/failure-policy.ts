/**
 * The failure policy: a pure function from (error, attempt, retry settings,
 * random) to a decision. Every path that settles a failed message goes
 * through it, so the rules of docs/contract.md §5 live in one tested place.
 */
import { ErrorCodes, isFatal, isPoison, MissiveError } from "../errors.js";
import { fullJitterDelay, type Random } from "./backoff.js";

export interface RetrySettings {
  /** Most attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Explicit delay ladder, ms: retry n waits `delays[n-1]` (the last repeats). Overrides the exponential backoff. */
  readonly delaysMs: readonly number[] | undefined;
  /** Exponential backoff with full jitter: first cap, ms. */
  readonly baseMs: number;
  /** Exponential backoff with full jitter: largest delay, ms. */
  readonly maxMs: number;
}

export type FailureDecision =
  | { readonly action: "retry"; readonly delayMs: number; readonly reason: "transient" | "unknown" }
  | { readonly action: "dead-letter"; readonly reason: "poison" | "permanent" | "attempts-exhausted" | "expired" }
  | { readonly action: "stop"; readonly reason: "fatal" }
  /** The delivery is no longer ours (its lease went to another delivery): settle nothing, it is being handled elsewhere. */
  | { readonly action: "abandon"; readonly reason: "lease-lost" }
  /** Another delivery of this message already committed its effects (DuplicateMessageError): ack, no second effect. */
  | { readonly action: "ack"; readonly reason: "duplicate" };

export function classifyFailure(error: unknown, attempt: number, retry: RetrySettings, random: Random): FailureDecision {
  // Checked first: retrying a delivery we no longer hold would only fail again and feed the breaker.
  if (error instanceof MissiveError && error.code === ErrorCodes.LEASE_LOST) return { action: "abandon", reason: "lease-lost" };
  if (error instanceof MissiveError && error.code === ErrorCodes.DUPLICATE) return { action: "ack", reason: "duplicate" };
  if (isPoison(error)) return { action: "dead-letter", reason: "poison" };
  // Past its expiry time a message is never handled: no attempt is left to make (middleware/expiry.ts).
  if (error instanceof MissiveError && error.code === ErrorCodes.EXPIRED) return { action: "dead-letter", reason: "expired" };
  if (error instanceof MissiveError && error.code === ErrorCodes.PERMANENT) return { action: "dead-letter", reason: "permanent" };
  if (isFatal(error)) return { action: "stop", reason: "fatal" };
  if (attempt >= retry.maxAttempts) return { action: "dead-letter", reason: "attempts-exhausted" };
  const reason = error instanceof MissiveError && error.code !== ErrorCodes.UNKNOWN ? "transient" : "unknown";
  return { action: "retry", delayMs: retryDelay(attempt, retry, random), reason };
}

const NOT_FOR_THE_BREAKER: ReadonlySet<string> = new Set([ErrorCodes.PERMANENT, ErrorCodes.EXPIRED, ErrorCodes.LEASE_LOST, ErrorCodes.DUPLICATE]);

/**
 * Whether a failed attempt counts toward the consumer circuit breaker: only
 * failures a retry could fix (transient, unknown, and so attempts exhausted),
 * the signs of a sick dependency the breaker pauses fetching for. Not a
 * permanent refusal or poison (the message's own fault: pausing would only
 * slow its dead-lettering, and a healthy consumer refusing a burst of bad
 * messages must keep its pace), a deployment error (the consumer stops), an
 * expired message, a lost lease or a duplicate (nothing failed).
 */
export function feedsBreaker(error: unknown): boolean {
  if (error instanceof MissiveError && NOT_FOR_THE_BREAKER.has(error.code)) return false;
  return !isPoison(error) && !isFatal(error);
}

/** The delay before retry number `attempt` (the attempt that just failed). */
export function retryDelay(attempt: number, retry: RetrySettings, random: Random): number {
  if (retry.delaysMs && retry.delaysMs.length > 0) {
    return retry.delaysMs[Math.min(attempt, retry.delaysMs.length) - 1]!;
  }
  return fullJitterDelay(attempt, { baseMs: retry.baseMs, maxMs: retry.maxMs }, random);
}

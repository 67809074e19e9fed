/**
 * Consumer rate limit: one token from the bucket before each attempt, so
 * handlers (and the downstream they call) see at most `perSecond` attempts a
 * second after the first burst. In-process retries take a token too: they hit
 * the same downstream. It sits outside the handler's timeout, so time spent
 * waiting for a token is not handler time.
 *
 * When `closing` aborts during a wait, the attempt ends without running the
 * handler: the outcome is a give-back (the message goes back for redelivery,
 * not counted as a failed attempt).
 */
import { GIVE_BACK, type Job, type Outcome, type Stage, type StageMiddleware } from "../runtime/outcome.js";
import type { TokenBucket } from "../runtime/token-bucket.js";

export function rateLimitStage(bucket: TokenBucket, closing: AbortSignal): StageMiddleware {
  return (next) => (job) =>
    // A token at hand: straight on, without the promise and closure of a wait.
    bucket.tryTake() ? next(job) : waitThenRun(bucket, closing, next, job);
}

async function waitThenRun(bucket: TokenBucket, closing: AbortSignal, next: Stage, job: Job): Promise<Outcome> {
  // Never rejects: an abort ends the wait with the token untaken.
  await bucket.take(1, closing);
  if (closing.aborted) return GIVE_BACK;
  return next(job);
}

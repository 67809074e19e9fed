/**
 * The default pipeline, fused: telemetry → settle → poison → retry (with its
 * breaker observer) → [rate limit, inbox] → handler, the same steps in the
 * same order with the same outcomes as those stages composed
 * (delivery-pipeline.ts), but one function per delivery with one continuation
 * on its attempt instead of a stage closure and a then() per layer: each
 * then() is a promise, a closure or two and a microtask per message, and the
 * runtime's share of a consume was mostly those. The stages stay the
 * reference (an at-most-once consumer still runs them composed); this calls
 * their own parts (afterAttempt, Settler, deliveryTelemetry), so a
 * step's behaviour lives in one place.
 */
import type { ContractRegistry } from "../contract/registry.js";
import type { PendingOr } from "../contract/validate.js";
import { poisoned } from "../middleware/poison.js";
import type { AfterAttempt } from "../middleware/retry.js";
import type { DeliveryTelemetry } from "../middleware/telemetry.js";
import { withActiveSpan } from "../observability/telemetry.js";
import { HANDLED, failed, type Job, type Outcome, type Pipeline, type PipelineEnds, type Stage } from "./outcome.js";
import { toFailed } from "./run-handler.js";
import { leftCommitting, type Settler } from "./settle.js";

export interface FusedParts {
  readonly telemetry: DeliveryTelemetry;
  /** Settles every delivery, as the settle stage does (settle.ts). */
  readonly settler: Settler;
  readonly registry: ContractRegistry;
  /** The retry stage's work on an attempt's outcome (retry.ts, afterAttempt). */
  readonly afterAttempt: AfterAttempt;
  /** One attempt as a stage (the stages inside retry, composed around the handler stage): what an in-process retry runs again. */
  readonly attemptStage: Stage;
  /** One attempt as the handler chain returns it, when no stage sits between retry and the handler; the first attempt then runs it directly. */
  readonly attempt: ((job: Job) => Promise<void> | void) | undefined;
}

export function fusedPipeline(parts: FusedParts, ends: PipelineEnds): Pipeline {
  const { telemetry, settler, registry, afterAttempt, attemptStage, attempt } = parts;

  /** The delivery's end, now or when `outcome` settles: to the consumer, as its own then() on a promise of it would. */
  const end = (job: Job, outcome: Outcome | Promise<Outcome>): void => {
    if (outcome instanceof Promise) {
      outcome.then(
        (o) => ends.ended(job, o),
        (error: unknown) => ends.broke(job, error),
      );
    } else ends.ended(job, outcome);
  };

  /** `step` on an outcome, then the end; what it throws (a bug in a stage) is the consumer's to handle, as a rejection was. */
  const endThrough = (step: (job: Job, outcome: Outcome) => Outcome | Promise<Outcome>, job: Job, outcome: Outcome): void => {
    let ended: Outcome | Promise<Outcome>;
    try {
      ended = step(job, outcome);
    } catch (error) {
      ends.broke(job, error);
      return;
    }
    end(job, ended);
  };

  /** An attempt's outcome through the retry decision, the settle and the record, then the end. */
  const endAfter = (job: Job, attempted: Outcome): void => endThrough(afterAttemptOf, job, attempted);

  /**
   * Settled, then recorded: the telemetry stage's end sees the outcome the settle stage returned. An ack left
   * committing (settle.ts) is recorded in the settle's own continuation when it lands, as the stage's end would,
   * and the consumer told there.
   */
  const settleThenEnd = (job: Job, outcome: Outcome): Outcome | Promise<Outcome> => {
    if (leftCommitting(job, outcome)) {
      job.settling = settler.settle(job, outcome, (settled) => {
        telemetry.record(job, settled);
        // In the same continuation: the consumer's end for this delivery has run already (the settle is asynchronous).
        ends.acked(job, settled);
        return settled;
      });
      return outcome;
    }
    return settler.settle(job, outcome).then((settled) => telemetry.end(job, settled));
  };

  /** An attempt's outcome through the retry decision, then settled and recorded. What the decision throws (a bug) is settled as failed, as the settle stage does with a rejection. */
  const afterAttemptOf = (job: Job, attempted: Outcome): Outcome | Promise<Outcome> => {
    let decided: Outcome | Promise<Outcome>;
    try {
      decided = afterAttempt(attemptStage, job, attempted);
    } catch (error) {
      return settleThenEnd(job, failed(error));
    }
    if (decided instanceof Promise) {
      return decided.then(
        (outcome) => settleThenEnd(job, outcome),
        (error: unknown) => settleThenEnd(job, failed(error)),
      );
    }
    return settleThenEnd(job, decided);
  };

  /** The first attempt; its continuation carries the delivery to its end. */
  const firstAttempt = (job: Job): void => {
    if (attempt === undefined) {
      attemptStage(job).then(
        (outcome) => endAfter(job, outcome),
        (error: unknown) => ends.broke(job, error),
      );
      return;
    }
    let result: Promise<void> | void;
    try {
      result = attempt(job);
    } catch (error) {
      const outcome = toFailed(error);
      void Promise.resolve(outcome).then((o) => endAfter(job, o));
      return;
    }
    void Promise.resolve(result).then(
      () => endAfter(job, HANDLED),
      (error: unknown) => endAfter(job, toFailed(error)),
    );
  };

  /** A message that does not fit its contract: settled and recorded, then the end. */
  const endPoisoned = (job: Job, outcome: Outcome): void => endThrough(settleThenEnd, job, outcome);

  /** Everything inside the span: the contract's read (a message that does not fit is dead-lettered, not retried), then the attempt. */
  const inSpan = (job: Job): void => {
    let read: PendingOr<unknown>;
    try {
      read = registry.readNow(job.envelope);
    } catch (error) {
      const outcome = poisoned(error);
      void Promise.resolve(outcome).then((o) => endPoisoned(job, o));
      return;
    }
    if ("pending" in read) {
      read.pending.then(
        (data) => {
          job.data = data;
          firstAttempt(job);
        },
        (error: unknown) => endPoisoned(job, poisoned(error)),
      ).catch((error: unknown) => ends.broke(job, error));
      return;
    }
    job.data = read.value;
    firstAttempt(job);
  };

  return (job) => {
    telemetry.start(job);
    // Active around the rest of the delivery, so the handler's own spans and ctx.publish join this trace.
    withActiveSpan(job.span, inSpan, job);
  };
}

/**
 * How one delivery ends, as a value. The consumer runs each delivery through
 * a pipeline of stages (src/middleware/): every stage is `(next) => stage`
 * and returns an Outcome instead of setting flags somewhere, and exactly one
 * function (settle.ts) turns the final outcome into a broker action. So a
 * delivery always ends in ack, retry, dead letter, give-back or a logged
 * error, whatever its handler did.
 */
import type { Span } from "@opentelemetry/api";
import type { Envelope } from "../envelope/envelope.js";
import { NO_TRACE_SPAN } from "../observability/telemetry.js";
import type { Delivery } from "../transport/transport.js";
import type { HandlerContext } from "./handler-context.js";

/** Why a message went to the dead-letter store (the `missive-reason` diagnostic). */
export type DeadLetterReason = "poison" | "permanent" | "attempts-exhausted" | "expired";

export type Outcome =
  /** The handler succeeded: ack. `acked`: the ack already happened (in the inbox transaction, or at-most-once). */
  | { readonly kind: "handled"; readonly acked: boolean }
  /** The inbox says this group already handled the message: ack without a second effect. */
  | { readonly kind: "duplicate"; readonly acked: boolean }
  /** The handler's effects and inbox row committed, then it threw: another attempt would be a no-op, so ack. */
  | { readonly kind: "committed-then-failed"; readonly error: unknown; readonly acked: boolean }
  /** An attempt failed and no stage has judged it yet. Only the retry stage (the failure policy) turns it into a decision. */
  | { readonly kind: "failed"; readonly error: unknown }
  /** Back to the broker for another attempt after `delayMs` (native delay), the attempt recorded in its headers. */
  | { readonly kind: "retry"; readonly delayMs: number; readonly error: unknown }
  | { readonly kind: "dead-letter"; readonly reason: DeadLetterReason; readonly error: unknown }
  /** The handler never started (closing, a stale key, a rate-limit wait cut short): back uncounted. */
  | { readonly kind: "give-back" }
  /** Closing cut an in-process retry's wait short: left unsettled, so the failed attempt still counts on redelivery. */
  | { readonly kind: "leave"; readonly error: unknown }
  /** A configuration or authentication error: the consumer stops; the message goes back for whoever can handle it. */
  | { readonly kind: "stop"; readonly error: unknown }
  /** The lease went to another delivery: the message is someone else's now, settle nothing. */
  | { readonly kind: "lease-lost"; readonly error: unknown }
  /** At-most-once: acked before handling, then the handler failed: dropped, as configured. */
  | { readonly kind: "dropped"; readonly error: unknown }
  /** The settle itself failed; what could be done instead (give-back) was tried and logged. */
  | {
      readonly kind: "settle-failed";
      readonly error: unknown;
      readonly intended: Outcome["kind"];
      /** Settles once the delivery was given back (or its lease lost, or the consumer closed); never rejects. The delivery is held until then. */
      readonly givenBack?: Promise<void>;
    };

/** Shared outcomes without fields that vary: the common paths allocate nothing. */
export const HANDLED: Outcome = Object.freeze({ kind: "handled", acked: false });
export const HANDLED_ACKED: Outcome = Object.freeze({ kind: "handled", acked: true });
export const DUPLICATE: Outcome = Object.freeze({ kind: "duplicate", acked: false });
export const GIVE_BACK: Outcome = Object.freeze({ kind: "give-back" });

/**
 * One delivery on its way through the pipeline: what the stages read, and the
 * little they pass inward (the contract's data, the inbox's transaction).
 * A class, so every delivery's state has one shape; one object per delivery.
 */
export class Job {
  /** This attempt's number, from 1 (attempts.ts says what counts). */
  attempt: number;
  /** Unix ms of this message's first failure, from its retry headers or this process. */
  firstFailureAt: number | undefined;
  /** The message's data, upcast and validated (set by the contract stage). */
  data: unknown = undefined;
  /** `ctx.transaction` for this attempt (set by the inbox stage). */
  transaction: HandlerContext["transaction"] | undefined = undefined;
  /** A success's ack still committing: the lane slot is free, the delivery held until it settles (settle.ts). */
  settling: Promise<Outcome> | undefined = undefined;
  /** Its start order among ready deliveries (lane-scheduler.ts): the runtime's fill-in priority, 0 when none. */
  priority = 0;
  /** Its hold on a stale-keys key (stale-keys.ts), 0 when none. */
  receipt = 0;
  /** When the telemetry stage started it (performance.now()), and its `process` span (the shared no-op one until then). */
  startedAt = 0;
  span: Span = NO_TRACE_SPAN;

  constructor(
    readonly delivery: Delivery,
    readonly envelope: Envelope,
    /** The lane key: set on ordered consumers only. */
    readonly key: string | undefined,
    attempt: number,
    firstFailureAt: number | undefined,
  ) {
    this.attempt = attempt;
    this.firstFailureAt = firstFailureAt;
  }
}

/** One step of the pipeline: it never rejects; whatever happens is an Outcome. */
export type Stage = (job: Job) => Promise<Outcome>;

/**
 * The whole pipeline as the consumer runs it: it tells `ended` how the delivery ended, once, or `broke` what a
 * stage threw (a bug). Callbacks the consumer makes once, rather than a promise and a then() of its own per message.
 */
export type Pipeline = (job: Job) => void;

export interface PipelineEnds {
  ended(job: Job, outcome: Outcome): void;
  /** After `ended` for a job whose ack was left committing (`job.settling` set by then): the ack landed, with what it settled. */
  acked(job: Job, settled: Outcome): void;
  broke(job: Job, error: unknown): void;
}

/** A stage run as the whole pipeline: its outcome (or what it threw or rejected with) to `ends`. */
export function stagePipeline(stage: Stage, ends: PipelineEnds): Pipeline {
  return (job) => {
    let running: Promise<Outcome>;
    try {
      running = stage(job);
    } catch (error) {
      ends.broke(job, error);
      return;
    }
    running.then(
      (outcome) => {
        ends.ended(job, outcome);
        // Settles never reject (settle.ts).
        void job.settling?.then((settled) => ends.acked(job, settled));
      },
      (error: unknown) => ends.broke(job, error),
    );
  };
}

/** Behaviour around a delivery: `(next) => stage`, composed outermost first. */
export type StageMiddleware = (next: Stage) => Stage;

export function composeStages(stages: readonly StageMiddleware[], inner: Stage): Stage {
  let s = inner;
  for (let i = stages.length - 1; i >= 0; i--) s = stages[i]!(s);
  return s;
}

export function failed(error: unknown): Outcome {
  return { kind: "failed", error };
}

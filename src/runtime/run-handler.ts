/**
 * The innermost stage: one attempt of the handler, wrapped in the user's
 * middleware (and the handler timeout), with its context. A return is
 * `handled`; whatever it throws is a `failed` outcome, made safe to read
 * first (inspectable-error.ts).
 */
import { ConfigurationError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { messageLogger } from "../observability/message-logger.js";
import type { Handler, HandlerContext } from "./handler-context.js";
import { inspectable } from "./inspectable-error.js";
import { AttemptContext } from "../middleware/attempt-context.js";
import { HANDLED, failed, type Job, type Outcome, type Stage } from "./outcome.js";
import type { Producer } from "./producer.js";
import { publisherFor, replierFor } from "./reply.js";

export interface ContextDeps {
  readonly group: string;
  readonly producer: Producer;
  readonly log: Logger;
  /** Aborted when the consumer closes past its deadline. */
  readonly signal: AbortSignal;
  /**
   * A handler timeout is in the chain (timeout.ts): the context is made as one it can adopt, so each attempt
   * has one context, not a second copy with the attempt's signal. Default false.
   */
  readonly timed?: boolean;
}

export function handlerStage(chain: Handler<unknown, unknown>, deps: ContextDeps): Stage {
  const attempt = attemptRunner(chain, deps);
  // Shared continuations, not an async frame per message: this runs once per attempt.
  return (job) => {
    try {
      return Promise.resolve(attempt(job)).then(toHandled, toFailed);
    } catch (error) {
      return Promise.resolve(toFailed(error));
    }
  };
}

/**
 * One attempt as the chain returns it (it may throw): the handler stage turns it into an Outcome, and the fused
 * default pipeline (fused-pipeline.ts) does the same in the one continuation it has per delivery.
 */
export function attemptRunner(chain: Handler<unknown, unknown>, deps: ContextDeps): (job: Job) => Promise<void> | void {
  const { group, producer, log, signal, timed = false } = deps;
  // `ctx.transaction` without an inbox depends on the group only: one function serves every delivery.
  const noTransaction: HandlerContext["transaction"] = () =>
    Promise.reject(new ConfigurationError(`ctx.transaction needs idempotency: "inbox" on group ${group}`));
  const contextFor = (job: Job): HandlerContext => {
    const envelope = job.envelope;
    const idempotencyKey = `${group}:${envelope.id}`;
    const ctxLog = messageLogger(log, envelope, group, job.attempt);
    const transaction = job.transaction ?? noTransaction;
    const publish = publisherFor(producer, envelope);
    const reply = replierFor(producer, envelope, log);
    if (timed) return new AttemptContext(envelope, job.attempt, group, idempotencyKey, ctxLog, transaction, publish, reply, signal);
    return { message: envelope, attempt: job.attempt, group, idempotencyKey, signal, log: ctxLog, transaction, publish, reply };
  };
  return (job) => chain(job.data, contextFor(job));
}

export const toHandled = (): Outcome => HANDLED;
export const toFailed = (error: unknown): Outcome => failed(inspectable(error));

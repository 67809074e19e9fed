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
import { HANDLED, failed, type Job, type Outcome, type Stage } from "./outcome.js";
import type { Producer } from "./producer.js";
import { publisherFor, replierFor } from "./reply.js";

export interface ContextDeps {
  readonly group: string;
  readonly producer: Producer;
  readonly log: Logger;
  /** Aborted when the consumer closes past its deadline. */
  readonly signal: AbortSignal;
}

export function handlerStage(chain: Handler<unknown, unknown>, deps: ContextDeps): Stage {
  const { group, producer, log, signal } = deps;
  // `ctx.transaction` without an inbox depends on the group only: one function serves every delivery.
  const noTransaction: HandlerContext["transaction"] = () =>
    Promise.reject(new ConfigurationError(`ctx.transaction needs idempotency: "inbox" on group ${group}`));
  const contextFor = (job: Job): HandlerContext => {
    const envelope = job.envelope;
    return {
      message: envelope,
      attempt: job.attempt,
      group,
      idempotencyKey: `${group}:${envelope.id}`,
      signal,
      log: messageLogger(log, envelope, group, job.attempt),
      transaction: job.transaction ?? noTransaction,
      publish: publisherFor(producer, envelope),
      reply: replierFor(producer, envelope, log),
    };
  };
  // Shared continuations, not an async frame per message: this runs once per attempt.
  return (job) => {
    try {
      return Promise.resolve(chain(job.data, contextFor(job))).then(toHandled, toFailed);
    } catch (error) {
      return Promise.resolve(toFailed(error));
    }
  };
}

const toHandled = (): Outcome => HANDLED;
const toFailed = (error: unknown): Outcome => failed(inspectable(error));

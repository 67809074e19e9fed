/**
 * The stages a delivery goes through, outermost first, as consumer settings
 * pick them (each in src/middleware/, each returning an Outcome):
 *
 *   telemetry → settle → poison → (at-most-once | retry → breaker) → rate limit → inbox → handler
 *
 * With retry (every consumer but an at-most-once one) the outer ones run
 * fused (fused-pipeline.ts): the same steps, one continuation per delivery.
 * The handler stage runs the user's middleware (inside the handler timeout)
 * around the handler. Only `settle` touches the broker, except the
 * at-most-once ack that must come before the handler.
 */
import type { ContractRegistry } from "../contract/registry.js";
import { atMostOnceStage } from "../middleware/at-most-once.js";
import { breakerObserver } from "../middleware/breaker.js";
import { compose } from "../middleware/compose.js";
import { inboxStage } from "../middleware/inbox.js";
import { poisonStage } from "../middleware/poison.js";
import { rateLimitStage } from "../middleware/rate-limit.js";
import { afterAttempt } from "../middleware/retry.js";
import { deliveryTelemetry, telemetryStage } from "../middleware/telemetry.js";
import { timeoutMiddleware } from "../middleware/timeout.js";
import { expiryMiddleware } from "../middleware/expiry.js";
import type { InboxStore } from "../stores/inbox.js";
import type { Random } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import type { ConsumerSettings } from "./consume-options.js";
import type { Handler, Middleware } from "./handler-context.js";
import { composeStages, stagePipeline, type Pipeline, type PipelineEnds, type StageMiddleware } from "./outcome.js";
import type { Producer } from "./producer.js";
import { attemptRunner, handlerStage } from "./run-handler.js";
import { fusedPipeline } from "./fused-pipeline.js";
import { settleStage, type SettleCounts, type Settler } from "./settle.js";
import { TokenBucket } from "./token-bucket.js";
import type { Logger } from "../observability/logger.js";
import type { ConsumerMetrics } from "./consumer-metrics.js";

export interface PipelineDeps {
  readonly system: string;
  readonly settings: ConsumerSettings;
  readonly registry: ContractRegistry;
  readonly handler: Handler<unknown, unknown>;
  readonly inbox: InboxStore<unknown> | undefined;
  readonly settler: Settler;
  readonly breaker: CircuitBreaker;
  readonly counts: SettleCounts;
  readonly brokerRetry: boolean;
  readonly random: Random;
  readonly producer: Producer;
  readonly log: Logger;
  /** The consumer closing: ends waits (rate limit, in-process retry). */
  readonly closing: AbortSignal;
  /** Aborted when closing passes its deadline: handlers see it as `ctx.signal`. */
  readonly stopHandlers: AbortSignal;
  /** The service report's figures, when the bus reports (service-reporter.ts). */
  readonly metrics?: ConsumerMetrics;
}

/** The consumer's pipeline: each delivery's outcome goes to `ends` (the consumer's own callbacks). */
export function deliveryPipeline(deps: PipelineDeps, ends: PipelineEnds): Pipeline {
  const s = deps.settings;
  // Expiry first: an attempt that would start past the message's expiry fails before the timeout starts and
  // before user middleware or the handler run (the policy dead-letters it as expired, never retried).
  const around: Middleware[] = s.timeoutMs === undefined ? [expiryMiddleware(), ...s.middleware] : [expiryMiddleware(), timeoutMiddleware(s.timeoutMs), ...s.middleware];
  const chain = compose(around, deps.handler);
  const contextDeps = { group: s.group, producer: deps.producer, log: deps.log, signal: deps.stopHandlers, timed: s.timeoutMs !== undefined };
  // Inside the retry stage: outside the timeout, since waiting for a token is not handler time, and closing ends the wait.
  const inner: StageMiddleware[] = [];
  if (s.rateLimit) inner.push(rateLimitStage(new TokenBucket(s.rateLimit), deps.closing));
  if (deps.inbox) inner.push(inboxStage(deps.inbox, s.group));
  const attemptStage = composeStages(inner, handlerStage(chain, contextDeps));
  if (s.atMostOnce) {
    const stages = [telemetryStage(deps.system, s.group, deps.metrics), settleStage(deps.settler), poisonStage(deps.registry), atMostOnceStage(deps.settler)];
    return stagePipeline(composeStages(stages, attemptStage), ends);
  }
  // The breaker sees every attempt (in-process retries too) right inside the retry stage, which runs its
  // observer in its own continuation rather than as a stage of its own (a then() per message fewer).
  const observe = breakerObserver(deps.breaker);
  const retry = { retry: s.retry, random: deps.random, brokerRetry: deps.brokerRetry, closing: deps.closing, counts: deps.counts, log: deps.log, metrics: deps.metrics, observe };
  // Every other consumer: telemetry → settle → poison → retry → [inner] → handler, fused into one continuation per delivery.
  return fusedPipeline({
    telemetry: deliveryTelemetry(deps.system, s.group, deps.metrics),
    settler: deps.settler,
    registry: deps.registry,
    afterAttempt: afterAttempt(retry),
    attemptStage,
    attempt: inner.length === 0 ? attemptRunner(chain, contextDeps) : undefined,
  }, ends);
}

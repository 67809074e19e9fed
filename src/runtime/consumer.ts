/**
 * The consumer: fetches within its prefetch bound, decodes, resolves the
 * contract, runs the handler in lanes (bounded concurrency, per-key order when
 * asked), and settles each delivery exactly once through the failure policy.
 * A delivery is acked only after its handler (and inbox write) committed.
 */
import { ClosedError, ConfigurationError, ErrorCodes, isMissiveError } from "../errors.js";
import { decodeEnvelope } from "../envelope/codec.js";
import { priorityOf } from "../envelope/expiry-priority.js";
import type { Envelope } from "../envelope/envelope.js";
import type { SizeLimits } from "../envelope/limits.js";
import type { ContractRegistry } from "../contract/registry.js";
import type { Logger } from "../observability/logger.js";
import { endProcess, startProcess } from "../observability/telemetry.js";
import { compose } from "../middleware/compose.js";
import { expiryMiddleware } from "../middleware/expiry.js";
import { inboxMiddleware } from "../middleware/inbox.js";
import { rateLimitMiddleware } from "../middleware/rate-limit.js";
import { timeoutMiddleware } from "../middleware/timeout.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import type { InboxStore } from "../stores/inbox.js";
import { hasNativeDeadLetters } from "../transport/abilities.js";
import { deadLetterTopic, type Delivery, type Subscription, type Transport } from "../transport/transport.js";
import { sleep, type Random } from "./backoff.js";
import { CircuitBreaker, type BreakerState } from "./circuit-breaker.js";
import type { ConsumerSettings } from "./consume-options.js";
import { retriesThroughTransport } from "./delay-support.js";
import { DELIVERY_STATE, type DeliveryState } from "./delivery-state.js";
import { DiagnosticHeaders, readRetryState, retryHeaders } from "./diagnostics.js";
import { deadLetterDelivery } from "./dead-letter.js";
import { classifyFailure } from "./failure-policy.js";
import type { Handler, HandlerContext, Middleware } from "./handler-context.js";
import { LaneScheduler } from "./lane-scheduler.js";
import type { Producer } from "./producer.js";
import { replyContext } from "./reply.js";
import { TokenBucket } from "./token-bucket.js";

export interface ConsumerStats {
  /** Handlers running now. */
  readonly inFlight: number;
  /** Most handlers that ever ran at once. */
  readonly peakInFlight: number;
  /** Deliveries held now (running + waiting in lanes + waiting to retry in-process). */
  readonly held: number;
  readonly handled: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly duplicates: number;
  readonly breaker: BreakerState;
}

/** A running consumer. */
export interface Consumer {
  readonly group: string;
  stats(): ConsumerStats;
  /** Resolves once the subscription is live (messages published after this reach it). */
  readonly ready: Promise<void>;
  /** Stop fetching, let in-flight handlers finish within `deadlineMs`, leave the rest for redelivery. */
  close(deadlineMs?: number): Promise<void>;
}

export interface ConsumerDeps {
  readonly transport: Transport;
  readonly registry: ContractRegistry;
  readonly settings: ConsumerSettings;
  readonly handler: Handler<unknown, unknown>;
  readonly inbox: InboxStore<unknown> | undefined;
  /** Where dead letters go when set (the bus's `deadLetters`), instead of the transport. */
  readonly deadLetters?: DeadLetterDatabase;
  readonly limits: SizeLimits;
  readonly producer: Producer;
  readonly log: Logger;
  readonly random: Random;
  readonly onClosed: (consumer: ConsumerImpl) => void;
}

const RECEIVE_WAIT_MS = 500;

/** How one delivery ended, for its `process` span and metrics. */
interface ProcessReport {
  outcome: "handled" | "duplicate" | "retried" | "dead-lettered" | "stopped" | "dropped" | "settle-failed" | "lease-lost" | "given-back";
  error: unknown;
  /** A successful handler's ack, still committing: its lane slot is free, the delivery is held until it settles. */
  ack?: Promise<void>;
}

export class ConsumerImpl implements Consumer {
  readonly group: string;
  readonly ready: Promise<void>;
  private subscription: Subscription | undefined;
  private readonly scheduler: LaneScheduler;
  private readonly breaker: CircuitBreaker;
  private readonly chain: Handler<unknown, unknown>;
  private readonly closing = new AbortController();
  private readonly stopHandlers = new AbortController();
  private held = 0;
  private capacityWaiter: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private counts = { handled: 0, retried: 0, deadLettered: 0, duplicates: 0 };
  private readonly useBrokerRetry: boolean;
  private readonly refillBatch: number;
  private readonly localPriority: boolean;
  /**
   * Whether held deliveries of a key are given back after a lease loss (see markStale): only on a
   * broker that does not block keys itself, and that can take a delivery back (native delay).
   */
  private readonly givesBackStaleKeys: boolean;
  /** Deliveries held per ordering key, and keys whose held deliveries went stale (see markStale). */
  private readonly heldByKey = new Map<string, number>();
  private readonly staleKeys = new Map<string, number>();
  /** Deliveries received so far: orders "held before the lease loss" against "received after". */
  private received = 0;
  /** Acks of handled unkeyed deliveries still committing (see process); close waits for them. */
  private readonly acking = new Set<Promise<void>>();
  /** `ctx.transaction` without an inbox: it depends on the group only, so one function serves every delivery. */
  private readonly noTransaction: HandlerContext<unknown>["transaction"];

  constructor(private readonly deps: ConsumerDeps) {
    const s = deps.settings;
    this.group = s.group;
    this.scheduler = new LaneScheduler(s.concurrency);
    this.breaker = new CircuitBreaker(s.breaker, deps.random, (state) => deps.log.warn({ group: s.group, state }, `consumer circuit breaker ${state}`));
    const runtimeMiddleware: Middleware[] = [];
    // Outermost: waiting for a token is not handler time (the timeout starts after it), and closing ends the wait.
    if (s.rateLimit) runtimeMiddleware.push(rateLimitMiddleware(new TokenBucket(s.rateLimit), this.closing.signal));
    // After the rate limit's wait (a message can expire during it), before everything that handles it.
    runtimeMiddleware.push(expiryMiddleware());
    if (s.timeoutMs !== undefined) runtimeMiddleware.push(timeoutMiddleware(s.timeoutMs));
    runtimeMiddleware.push(...s.middleware);
    if (deps.inbox) runtimeMiddleware.push(inboxMiddleware(deps.inbox));
    this.chain = compose(runtimeMiddleware, deps.handler);
    const group = s.group;
    this.noTransaction = () => Promise.reject(new ConfigurationError(`ctx.transaction needs idempotency: "inbox" on group ${group}`));
    const caps = deps.transport.capabilities;
    // Through the transport or in-process: decided in one place for every transport (delay-support.ts, ADR 008).
    this.useBrokerRetry = retriesThroughTransport(deps.transport, s.ordered);
    this.givesBackStaleKeys = s.ordered && caps.ordering !== "key" && caps.nativeDelay;
    // Without native priority, the runtime fills in: held deliveries start highest priority first (lane-scheduler.ts).
    this.localPriority = (caps.priorities ?? 0) === 0;
    this.refillBatch = Math.max(1, Math.floor((s.prefetch - s.concurrency) / 2), Math.floor(s.prefetch / 4));
    this.ready = this.start();
  }

  stats(): ConsumerStats {
    return {
      inFlight: this.scheduler.active,
      peakInFlight: this.scheduler.peakActive,
      held: this.held,
      ...this.counts,
      breaker: this.breaker.state,
    };
  }

  async close(deadlineMs = 10_000): Promise<void> {
    if (!this.closing.signal.aborted) {
      this.closing.abort(new ClosedError("consumer closing"));
      this.capacityWaiter?.();
    }
    // A start still waiting for the broker (down, or not reached yet) holds the close up to the deadline at most;
    // if it succeeds later it sees the consumer closing and closes its subscription itself.
    const startWait = new AbortController();
    await Promise.race([this.ready.catch(() => undefined), sleep(deadlineMs, startWait.signal)]);
    startWait.abort();
    // Closing the subscription ends a receive() that is waiting, so the loop stops at once.
    await this.subscription?.close().catch((err: unknown) => this.deps.log.warn({ err }, "subscription close failed"));
    await this.loopDone;
    // Work that never started goes back now, not after the handlers ahead of it (which may run to the deadline).
    this.scheduler.unbound();
    const timer = setTimeout(() => this.stopHandlers.abort(new ClosedError("close deadline passed")), deadlineMs);
    const giveUp = new AbortController();
    // Handlers that ignore the abort signal are left behind after the deadline: their messages are not acked.
    await Promise.race([this.scheduler.idle().then(() => this.acksSettled()), sleep(deadlineMs + 50, giveUp.signal)]);
    giveUp.abort();
    clearTimeout(timer);
    this.deps.onClosed(this);
  }

  private async start(): Promise<void> {
    const s = this.deps.settings;
    const transport = this.deps.transport;
    if (!hasNativeDeadLetters(transport) && !this.deps.deadLetters) {
      const dlq = deadLetterTopic(s.group);
      await transport.bind(dlq, [dlq]);
    }
    const subscription = await transport.subscribe({
      group: s.group,
      topics: this.deps.registry.types(),
      prefetch: s.prefetch,
      ordered: s.ordered,
      leaseMs: s.leaseMs,
    });
    if (this.closing.signal.aborted) {
      await subscription.close().catch((err: unknown) => this.deps.log.warn({ err }, "subscription close failed"));
      return;
    }
    this.subscription = subscription;
    this.loopDone = this.loop(subscription);
  }

  private async loop(sub: Subscription): Promise<void> {
    const signal = this.closing.signal;
    while (!signal.aborted) {
      const { prefetch, concurrency } = this.deps.settings;
      const free = prefetch - this.held;
      // Refill in batches once handlers are busy: one claim round trip for many messages, not one per ack.
      if (free <= 0 || (free < this.refillBatch && this.held >= concurrency)) {
        await new Promise<void>((resolve) => (this.capacityWaiter = resolve));
        this.capacityWaiter = undefined;
        continue;
      }
      const allowance = this.breaker.allowance();
      if (allowance === 0) {
        await sleep(Math.max(10, this.breaker.waitMs()), signal);
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await sub.receive(Math.min(free, allowance), RECEIVE_WAIT_MS);
      } catch (err) {
        if (signal.aborted) break;
        this.deps.log.error({ err, group: this.group }, "receive failed; retrying");
        await sleep(200 + this.deps.random() * 800, signal);
        continue;
      }
      if (allowance !== Number.POSITIVE_INFINITY && deliveries.length > 0) this.breaker.probeTaken();
      for (const d of deliveries) this.dispatch(d);
    }
  }

  private release(key: string | undefined): void {
    this.held--;
    if (key !== undefined && this.givesBackStaleKeys) {
      const n = (this.heldByKey.get(key) ?? 1) - 1;
      if (n > 0) this.heldByKey.set(key, n);
      else {
        this.heldByKey.delete(key);
        this.staleKeys.delete(key);
      }
    }
    this.capacityWaiter?.();
  }

  /**
   * A delivery of `key` lost its lease: the broker is handing that message out
   * again, so the later messages of the key this consumer already held must
   * not run before it. Those are given back (deliveries received afterwards
   * run normally), and the key is clean again once this consumer holds none of it.
   */
  private markStale(key: string | undefined): void {
    if (key !== undefined && this.givesBackStaleKeys) this.staleKeys.set(key, this.received);
  }

  private dispatch(delivery: Delivery): void {
    this.held++;
    const decoded = decodeEnvelope(delivery.wire, this.deps.limits);
    if (!decoded.ok) {
      // Undecodable: no key to order by, nothing to retry. Dead-letter now.
      void this.deadLetter(delivery, decoded.error, "poison", Math.max(delivery.attempt, 1), Date.now())
        .catch((err: unknown) => this.deps.log.error({ err, group: this.group }, "dead-lettering an undecodable message failed; it will be redelivered"))
        .finally(() => this.release(undefined));
      return;
    }
    const envelope = decoded.envelope;
    const key = this.deps.settings.ordered ? (envelope.key ?? delivery.key) : undefined;
    // Per-key bookkeeping only where stale deliveries can be given back: off the hot path otherwise.
    const tracked = key !== undefined && this.givesBackStaleKeys;
    if (tracked) this.heldByKey.set(key, (this.heldByKey.get(key) ?? 0) + 1);
    const receivedAs = ++this.received;
    const priority = this.localPriority && envelope.priority !== undefined ? priorityOf(envelope) : 0;
    this.scheduler.submit(key, () => this.run(delivery, envelope, key, tracked, receivedAs), priority);
  }

  /**
   * One delivery's turn in its lane. A method with its per-delivery state passed in, not closures made per
   * delivery: this runs once per message.
   */
  private async run(delivery: Delivery, envelope: Envelope, key: string | undefined, tracked: boolean, receivedAs: number): Promise<void> {
    const staleUpTo = tracked ? this.staleKeys.get(key!) : undefined;
    if (this.closing.signal.aborted || (staleUpTo !== undefined && receivedAs <= staleUpTo)) {
      await this.giveBack(delivery).catch(() => undefined);
      this.release(key);
      return;
    }
    const report: ProcessReport = { outcome: "handled", error: undefined };
    const startedAt = performance.now();
    const span = startProcess(this.deps.transport.name, delivery.topic, this.group, envelope.id, Math.max(delivery.attempt, 1), envelope);
    try {
      await this.process(delivery, envelope, report, key === undefined);
      if (report.outcome === "lease-lost") this.markStale(key);
    } catch (err) {
      this.settleFailed(report, key, envelope, err);
    }
    const ack = report.ack;
    if (ack === undefined) return this.finish(span, delivery, startedAt, report, key);
    // The handler is done, so its lane slot is free for the next one while the ack commits: the acks of
    // many handlers then share one commit. The delivery stays held (prefetch) until the ack settled.
    const settled: Promise<void> = ack
      .catch((err: unknown) => this.settleFailed(report, key, envelope, err))
      .finally(() => {
        this.acking.delete(settled);
        this.finish(span, delivery, startedAt, report, key);
      });
    this.acking.add(settled);
  }

  /** A delivery's turn is over: end its span and free its prefetch slot. */
  private finish(span: ReturnType<typeof startProcess>, delivery: Delivery, startedAt: number, report: ProcessReport, key: string | undefined): void {
    endProcess(span, this.deps.transport.name, delivery.topic, this.group, startedAt, report.outcome, report.error);
    this.release(key);
  }

  private settleFailed(report: ProcessReport, key: string | undefined, envelope: Envelope, err: unknown): void {
    report.outcome = "settle-failed";
    report.error = err;
    if (isMissiveError(err) && err.code === ErrorCodes.LEASE_LOST) this.markStale(key);
    this.deps.log.warn({ err, group: this.group, id: envelope.id }, "settling a delivery failed; it will be redelivered");
  }

  /** Resolves when every ack still committing has settled. */
  private async acksSettled(): Promise<void> {
    while (this.acking.size > 0) await Promise.all(this.acking);
  }

  /**
   * Closing (or a stale key): a delivery whose handler never started goes back now rather than when its
   * lease runs out, and without counting as an attempt, so restarts never use up a retry budget.
   */
  private async giveBack(delivery: Delivery): Promise<void> {
    await delivery.release();
  }

  /**
   * Handle one delivery through its retries and settle it. With `ackLater` (an unkeyed delivery: no lane
   * order depends on when it is acked), a success's ack is left committing in `report.ack`.
   */
  private async process(delivery: Delivery, envelope: Envelope, report: ProcessReport, ackLater: boolean): Promise<void> {
    const retryState = readRetryState(delivery.wire.headers);
    let attempt = Math.max(delivery.attempt, retryState.attempts + 1, 1);
    let firstFailureAt = retryState.firstFailureAt;
    let resolved: { data: unknown };
    try {
      resolved = await this.deps.registry.read(envelope);
    } catch (err) {
      // Unknown type or version, schema, upcaster: the message itself is bad.
      report.outcome = "dead-lettered";
      report.error = err;
      await this.deadLetter(delivery, err, "poison", attempt, firstFailureAt ?? Date.now());
      return;
    }
    if (this.deps.settings.atMostOnce) {
      await delivery.ack();
      try {
        await this.chain(resolved.data, this.contextFor(envelope, attempt, { delivery, settled: false, committed: false, givenBack: false }));
        this.counts.handled++;
      } catch (err) {
        report.outcome = "dropped";
        report.error = err;
        this.deps.log.warn({ err, id: envelope.id, group: this.group }, "at-most-once handler failed; message dropped as configured");
      }
      return;
    }
    let failedHere = false;
    for (;;) {
      const state: DeliveryState = { delivery, settled: false, committed: false, givenBack: false };
      let failure: { error: unknown } | undefined;
      try {
        await this.chain(resolved.data, this.contextFor(envelope, attempt, state));
      } catch (error) {
        failure = { error };
      }
      if (!failure) {
        // Settling is outside the handler's try: a failed ack is not a handler failure (the message comes back).
        if (!state.settled) {
          const acked = delivery.ack().then(() => this.handledOk());
          if (ackLater) {
            report.ack = acked;
            return;
          }
          await acked;
          return;
        }
        this.handledOk();
        return;
      }
      if (state.givenBack) {
        // Closing cut the rate limit's wait short: the handler never ran, so this is no failed attempt.
        report.outcome = "given-back";
        report.error = undefined;
        // A first attempt goes back now, uncounted; after an in-process failure it stays unsettled (as when
        // closing ends a retry delay) so the failed attempt still counts when it is redelivered.
        if (!failedHere) await this.giveBack(delivery);
        return;
      }
      failedHere = true;
      firstFailureAt ??= Date.now();
      report.error = failure.error;
      const next = await this.settleFailure(delivery, envelope, failure.error, attempt, firstFailureAt, state, report);
      if (next === "done") return;
      attempt++;
    }
  }

  /**
   * Settle a failed attempt through the failure policy. Resolves "again" when
   * the runtime retries in-process (no native delay, or an ordered consumer on
   * a broker that does not block keys): the delivery stays held and its lane
   * stays blocked through the delay.
   */
  private async settleFailure(
    delivery: Delivery, envelope: Envelope, err: unknown, attempt: number, firstFailureAt: number, state: DeliveryState, report: ProcessReport,
  ): Promise<"done" | "again"> {
    if (isMissiveError(err) && err.code === ErrorCodes.DUPLICATE) {
      report.outcome = "duplicate";
      report.error = undefined;
      if (!state.settled) await delivery.ack();
      this.counts.duplicates++;
      return "done";
    }
    if (state.committed) {
      // Effects and inbox row are committed: another attempt would be a no-op. Settle as done.
      this.deps.log.warn({ err, id: envelope.id, group: this.group }, "handler failed after its transaction committed; acking");
      if (!state.settled) await delivery.ack();
      this.counts.handled++;
      return "done";
    }
    const decision = classifyFailure(err, attempt, this.deps.settings.retry, this.deps.random);
    if (decision.action === "abandon") {
      report.outcome = "lease-lost";
      this.deps.log.warn({ id: envelope.id, group: this.group }, "the delivery's lease was lost; the broker hands the message out again");
      return "done";
    }
    report.outcome = decision.action === "retry" ? "retried" : decision.action === "stop" ? "stopped" : "dead-lettered";
    if (decision.action === "retry") {
      this.breaker.failure();
      this.counts.retried++;
      if (this.useBrokerRetry) {
        await delivery.retry(decision.delayMs, retryHeaders(delivery.wire.headers, attempt, firstFailureAt, err));
        return "done";
      }
      await sleep(decision.delayMs, this.closing.signal);
      // Closing: leave it unsettled, it will be redelivered.
      return this.closing.signal.aborted ? "done" : "again";
    }
    if (decision.action === "stop") {
      this.deps.log.error({ err, id: envelope.id, group: this.group }, "handler failed with a configuration or authentication error; stopping the consumer");
      void this.close();
      return "done";
    }
    await this.deadLetter(delivery, err, decision.reason, attempt, firstFailureAt);
    // A bad or expired message says nothing about the handler's health.
    if (decision.reason !== "poison" && decision.reason !== "expired") this.breaker.failure();
    return "done";
  }

  private handledOk(): void {
    this.counts.handled++;
    this.breaker.success();
  }

  private contextFor(envelope: Envelope, attempt: number, state: DeliveryState): HandlerContext<unknown> {
    const { producer, log } = this.deps;
    const group = this.group;
    // Its two functions named, not spread in: the same properties in the same order, without a copy per message.
    const { publish, reply } = replyContext(producer, envelope, log);
    const ctx: HandlerContext<unknown> & { [DELIVERY_STATE]: DeliveryState } = {
      message: envelope,
      attempt,
      group,
      idempotencyKey: `${group}:${envelope.id}`,
      signal: this.stopHandlers.signal,
      log,
      transaction: this.noTransaction,
      publish,
      reply,
      [DELIVERY_STATE]: state,
    };
    return ctx;
  }

  private async deadLetter(delivery: Delivery, error: unknown, reason: string, attempts: number, firstFailureAt: number): Promise<void> {
    const headers = await deadLetterDelivery(this.deps.transport, delivery, { error, reason, attempts, firstFailureAt, group: this.group }, this.deps.deadLetters);
    this.counts.deadLettered++;
    this.deps.log.warn({ group: this.group, topic: delivery.topic, reason, code: headers[DiagnosticHeaders.errorCode] }, "message dead-lettered");
  }

}

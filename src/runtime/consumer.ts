/**
 * The consumer: fetches within its prefetch bound, decodes, and runs each
 * delivery in lanes (bounded concurrency, per-key order when asked) through
 * its pipeline of stages (delivery-pipeline.ts), which ends in exactly one
 * settle (settle.ts). A delivery is acked only after its handler (and inbox
 * write) committed. This file is the loop and the bookkeeping around it:
 * prefetch, lanes, stale keys, runtime lease renewal, closing.
 */
import { setMaxListeners } from "node:events";
import { ClosedError } from "../errors.js";
import { decodeEnvelope } from "../envelope/codec.js";
import { priorityOf } from "../envelope/expiry-priority.js";
import type { SizeLimits } from "../envelope/limits.js";
import type { ContractRegistry } from "../contract/registry.js";
import type { Logger } from "../observability/logger.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import type { InboxStore } from "../stores/inbox.js";
import { hasNativeDeadLetters } from "../transport/abilities.js";
import { deadLetterTopic, type AttemptCounting, type Delivery, type Subscription, type Transport } from "../transport/transport.js";
import { startingAttempt } from "./attempts.js";
import { sleep, type Random } from "./backoff.js";
import { CircuitBreaker, type BreakerState } from "./circuit-breaker.js";
import { ConsumerLifecycle, type ConsumerState, type ConsumerStateListener } from "./consumer-lifecycle.js";
import type { ConsumerSettings } from "./consume-options.js";
import { retriesThroughTransport } from "./delay-support.js";
import type { ConsumerMetrics } from "./consumer-metrics.js";
import { deliveryPipeline } from "./delivery-pipeline.js";
import { readRetryState } from "./diagnostics.js";
import type { Handler } from "./handler-context.js";
import { Lanes } from "./lane-scheduler.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { GIVE_BACK, Job, type Outcome, type Pipeline } from "./outcome.js";
import type { Producer } from "./producer.js";
import { Settler, type SettleCounts } from "./settle.js";
import { StaleKeys } from "./stale-keys.js";

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
  /** Settles the broker refused (the delivery was given back, or its lease was gone); each one logged. */
  readonly settleFailures: number;
  readonly breaker: BreakerState;
  /** Where the consumer is in its life (consumer-lifecycle.ts); `failed` when an error stopped it. */
  readonly state: ConsumerState;
}

/** A running consumer. */
export interface Consumer {
  readonly group: string;
  stats(): ConsumerStats;
  /** Resolves once the subscription is live (messages published after this reach it). */
  readonly ready: Promise<void>;
  /** `starting`, `running`, `stopping`, `stopped` (closed) or `failed` (an error stopped it). */
  readonly state: ConsumerState;
  /**
   * Resolves once the consumer has stopped, for whatever reason: with the
   * error that stopped it (its start failed, or a handler threw a
   * configuration or authentication error), or `undefined` after `close()`.
   */
  readonly stopped: Promise<unknown>;
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
  /** Told of every change of state (the bus turns them into `consumer` status events). */
  readonly onState?: ConsumerStateListener;
  /** The service report's figures, when the bus reports (service-reporter.ts). */
  readonly metrics?: ConsumerMetrics;
}

const RECEIVE_WAIT_MS = 500;

export class ConsumerImpl implements Consumer {
  readonly group: string;
  readonly ready: Promise<void>;
  private readonly lifecycle: ConsumerLifecycle;
  private subscription: Subscription | undefined;
  private readonly scheduler: Lanes<Job>;
  private readonly breaker: CircuitBreaker;
  private readonly settler: Settler;
  private readonly pipeline: Pipeline;
  private readonly closing = new AbortController();
  private readonly stopHandlers = new AbortController();
  private held = 0;
  private capacityWaiter: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly counts: SettleCounts = { handled: 0, retried: 0, deadLettered: 0, duplicates: 0, settleFailures: 0 };
  private readonly refillBatch: number;
  private readonly localPriority: boolean;
  private readonly attempts: AttemptCounting;
  /**
   * Held deliveries of a key are given back after a lease loss (stale-keys.ts) only on a broker that does
   * not block keys itself and can take a delivery back (native delay); undefined elsewhere, off the hot path.
   */
  private readonly staleKeys: StaleKeys | undefined;
  /** Set when the transport leaves lease renewal to the runtime. */
  private readonly leases: LeaseKeeper | undefined;
  /** Acks of handled unkeyed deliveries still committing (settle.ts); close waits for them. A count, not a set of promises: no set churn per message. */
  private acking = 0;
  /** Made when close waits for the acks: resolved when `acking` comes down to 0. */
  private acksDrained: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;

  constructor(private readonly deps: ConsumerDeps) {
    const s = deps.settings;
    this.group = s.group;
    // One listener per running handler is expected on these (the handler timeout's, a handler's own fetch(…, { signal }),
    // a held retry's sleep), and each is removed when its handler ends: with concurrency above 10 Node's default
    // limit warned of a leak that is not one, on every service.
    setMaxListeners(0, this.closing.signal, this.stopHandlers.signal);
    this.lifecycle = new ConsumerLifecycle(deps.onState);
    // The consumer ends each delivery's lane turn itself (ran, giveBackUnstarted): no promise per turn in the scheduler.
    this.scheduler = new Lanes<Job>(s.concurrency, (job) => this.run(job));
    this.breaker = new CircuitBreaker(s.breaker, deps.random, (state) => deps.log.warn({ group: s.group, state }, `consumer circuit breaker ${state}`));
    const caps = deps.transport.capabilities;
    this.attempts = caps.attempts ?? "exact";
    // Without native priority, the runtime fills in: held deliveries start highest priority first (lane-scheduler.ts).
    this.localPriority = (caps.priorities ?? 0) === 0;
    if (s.ordered && caps.ordering !== "key" && caps.nativeDelay) this.staleKeys = new StaleKeys();
    if (caps.leaseRenewal === "runtime") this.leases = new LeaseKeeper(s.leaseMs, deps.log, s.group);
    this.settler = new Settler({
      transport: deps.transport, group: s.group, log: deps.log, counts: this.counts, breaker: this.breaker, deadLetters: deps.deadLetters,
      stop: (error) => this.fail(error),
      leaseLost: (key) => {
        if (key !== undefined) this.staleKeys?.markStale(key);
      },
      closing: this.closing.signal,
      random: deps.random,
    });
    this.pipeline = deliveryPipeline({
      system: deps.transport.name, settings: s, registry: deps.registry, handler: deps.handler, inbox: deps.inbox,
      settler: this.settler, breaker: this.breaker, counts: this.counts,
      // A broker-side retry lets later messages of the key overtake unless the broker itself blocks the key.
      // Through the transport or in-process: decided in one place for every transport (delay-support.ts, ADR 008).
      brokerRetry: retriesThroughTransport(deps.transport, s.ordered),
      random: deps.random, producer: deps.producer, log: deps.log, closing: this.closing.signal, stopHandlers: this.stopHandlers.signal,
      metrics: deps.metrics,
    }, { ended: (job, outcome) => this.ran(job, outcome), acked: (job, settled) => this.acked(job, settled), broke: (job, error) => this.broke(job, error) });
    this.refillBatch = Math.max(1, Math.floor((s.prefetch - s.concurrency) / 2), Math.floor(s.prefetch / 4));
    this.ready = this.start().then(
      () => this.lifecycle.running(),
      (err: unknown) => {
        // A start cut short by close (the broker never answered) is no failure.
        if (!this.closing.signal.aborted) this.fail(err);
        throw err;
      },
    );
  }

  get state(): ConsumerState {
    return this.lifecycle.state;
  }

  get stopped(): Promise<unknown> {
    return this.lifecycle.stopped;
  }

  /** An error stops the consumer: it fails, then closes like any consumer. */
  private fail(error: unknown): void {
    this.lifecycle.fail(error);
    void this.close();
  }

  stats(): ConsumerStats {
    return {
      inFlight: this.scheduler.active,
      peakInFlight: this.scheduler.peakActive,
      held: this.held,
      ...this.counts,
      breaker: this.breaker.state,
      state: this.lifecycle.state,
    };
  }

  /** The keys with the most deliveries waiting behind their running one (ordered consumers; the service report's hot keys). */
  busiestKeys(limit: number): { key: string; waiting: number }[] {
    return this.scheduler.busiestKeys(limit);
  }

  async close(deadlineMs = 10_000): Promise<void> {
    this.lifecycle.stopping();
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
    // What is still held after the deadline is left to its lease: renewing it would keep it from redelivery.
    this.leases?.stop();
    this.deps.onClosed(this);
    this.lifecycle.closed();
  }

  private async start(): Promise<void> {
    const s = this.deps.settings;
    const transport = this.deps.transport;
    // A store that cannot work (its table never migrated) fails the start, not the first message.
    await this.deps.inbox?.check?.();
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

  private dispatch(delivery: Delivery): void {
    this.held++;
    this.leases?.hold(delivery);
    const recorded = readRetryState(delivery.wire.headers);
    const attempt = startingAttempt(delivery.attempt, recorded.attempts, this.attempts);
    const decoded = decodeEnvelope(delivery.wire, this.deps.limits);
    if (!decoded.ok) {
      // Undecodable: no key to order by, nothing to retry. Dead-letter now.
      const target = { delivery, key: undefined, attempt, firstFailureAt: recorded.firstFailureAt };
      void this.settler.settle(target, { kind: "dead-letter", reason: "poison", error: decoded.error }).then(givenBackOf).then(() => this.release(delivery, undefined, 0));
      return;
    }
    const envelope = decoded.envelope;
    const key = this.deps.settings.ordered ? (envelope.key ?? delivery.key) : undefined;
    const job = new Job(delivery, envelope, key, attempt, recorded.firstFailureAt);
    // Per-key bookkeeping only where stale deliveries can be given back.
    if (key !== undefined && this.staleKeys) job.receipt = this.staleKeys.hold(key);
    if (this.localPriority && envelope.priority !== undefined) job.priority = priorityOf(envelope);
    this.scheduler.add(job);
  }

  /**
   * One delivery's turn in its lane; it ends (scheduler.finished) when its pipeline has run. A method with its
   * state on the Job, not closures made per delivery, and chained with then() rather than async: this runs per
   * message, and an async frame costs more than a closure.
   */
  private run(job: Job): void {
    const key = job.key;
    const receipt = job.receipt;
    if (this.closing.signal.aborted || (receipt > 0 && this.staleKeys!.isStale(key!, receipt))) {
      this.giveBackUnstarted(job);
      return;
    }
    // Its channel or lease is gone already (a connection reset): the broker delivers it again; running the handler
    // now would be wasted work (a second effect without the inbox) holding a slot the fresh deliveries need.
    let started: boolean | undefined;
    try {
      started = job.delivery.start?.();
    } catch (error) {
      // A transport bug: not run, and given back rather than left holding its lane and its prefetch slot.
      this.deps.log.error({ err: error, group: this.group, id: job.envelope.id }, "a delivery's start check threw; giving it back");
      this.giveBackUnstarted(job);
      return;
    }
    if (started === false) {
      if (key !== undefined) this.staleKeys?.markStale(key);
      this.release(job.delivery, key, receipt);
      this.scheduler.finished(job);
      return;
    }
    // The pipeline calls ran() or broke() when the delivery's outcome is known.
    try {
      this.pipeline(job);
    } catch (error) {
      this.broke(job, error);
    }
  }

  /** Stages never throw or reject; should one (a bug), the lane must not wedge and the delivery must not stay held. */
  private broke(job: Job, error: unknown): void {
    this.deps.log.error({ err: error, group: this.group, id: job.envelope.id }, "a delivery's pipeline failed; giving it back");
    this.giveBackUnstarted(job);
  }

  /** Its handler never started (or its pipeline broke): back now rather than when its lease runs out, and uncounted; its lane turn ends with it. */
  private giveBackUnstarted(job: Job): void {
    void this.settler
      .settle(job, GIVE_BACK)
      .then(givenBackOf)
      .then(() => {
        this.release(job.delivery, job.key, job.receipt);
        this.scheduler.finished(job);
      });
  }

  /** The pipeline ended: its lane turn ends; held until settled, an ack still committing or a delivery whose settle was refused until it is given back. */
  private ran(job: Job, outcome: Outcome): void {
    if (job.settling === undefined) {
      const givenBack = givenBackOf(outcome);
      if (givenBack === undefined) this.release(job.delivery, job.key, job.receipt);
      else this.holdUntil(givenBack, job);
    } else {
      // The lane slot is free while the ack commits; the delivery stays held (prefetch) until it settled: the pipeline
      // calls acked() then, in the settle's own continuation; its rare give-back is waited for there.
      this.acking++;
    }
    this.scheduler.finished(job);
  }

  /** An ack left committing has settled (a settle never rejects); a refused one is held until given back. */
  private acked(job: Job, settled: Outcome): void {
    const givenBack = givenBackOf(settled);
    if (givenBack === undefined) this.unhold(job);
    else void givenBack.then(() => this.unhold(job));
  }

  /** Keep the delivery held until `settling` resolves (it never rejects); close waits for it. */
  private holdUntil(settling: Promise<void>, job: Job): void {
    this.acking++;
    void settling.then(() => this.unhold(job));
  }

  /** A held delivery counted in `acking` is done. */
  private unhold(job: Job): void {
    this.release(job.delivery, job.key, job.receipt);
    if (--this.acking === 0) this.acksDrained?.resolve();
  }

  private release(delivery: Delivery, key: string | undefined, receipt: number): void {
    this.held--;
    this.leases?.drop(delivery);
    if (receipt > 0) this.staleKeys!.release(key!);
    this.capacityWaiter?.();
  }

  /** Resolves when every ack still committing has settled. */
  private acksSettled(): Promise<void> {
    if (this.acking === 0) return Promise.resolve();
    if (this.acksDrained === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.acksDrained = {
        promise,
        resolve: () => {
          this.acksDrained = undefined;
          resolve();
        },
      };
    }
    return this.acksDrained.promise;
  }
}

/** A refused settle's give-back still under way (settle.ts), else undefined. */
function givenBackOf(outcome: Outcome): Promise<void> | undefined {
  return outcome.kind === "settle-failed" ? outcome.givenBack : undefined;
}

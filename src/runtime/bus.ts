/**
 * The bus: one service's producer, consumers and requester over one transport.
 */
import { ClosedError, ConfigurationError } from "../errors.js";
import type { MessageData, MessageDefinition, MessageInput } from "../contract/define-message.js";
import { ContractRegistry } from "../contract/registry.js";
import { checkInboxStore, type InboxStore } from "../stores/inbox.js";
import { canInspectQueues, reportsServices } from "../transport/abilities.js";
import type { Transport } from "../transport/transport.js";
import { observeQueues } from "../observability/queue-gauges.js";
import type { BusSettings } from "./bus-options.js";
import { consumerSettings, type ConsumeOptions } from "./consume-options.js";
import { deadLetterAdmin, type DeadLetterAdmin, type DeadLetterAdminOptions } from "./dead-letter-admin.js";
import { ConsumerImpl, type Consumer } from "./consumer.js";
import { ConsumerMetrics } from "./consumer-metrics.js";
import { consumerReporter } from "./consumer-report.js";
import { withRuntimeDelay } from "./delay-fill.js";
import { toMs, type Duration } from "./duration.js";
import type { Handler } from "./handler-context.js";
import { assessHealth, type BusHealth } from "./health.js";
import { missingInboxError } from "./inbox-hint.js";
import { Producer } from "./producer.js";
import type { PublishOptions, PublishReceipt } from "./publish-options.js";
import { Requester } from "./requester.js";
import { ServiceReporter } from "./service-reporter.js";
import type { Spool } from "./spool.js";
import { StatusEvents, type ProducerStatus, type StatusListener } from "./status.js";

/** Any contract, whatever its data type. */
type AnyDefinition = MessageDefinition<string, unknown, unknown>;

export interface RequestOptions<R extends AnyDefinition> extends PublishOptions {
  /** The contract of the expected reply. */
  readonly reply: R;
  /**
   * Reject with RequestTimeoutError after this. Default `"10s"`. The request
   * also expires then (`expiresat`): a consumer that gets it later
   * dead-letters it unhandled, as nobody waits for its reply.
   */
  readonly timeout?: Duration;
}

/**
 * The handle type a consumer's handler takes. On a bus whose inbox is known
 * (`TInbox` not `unknown`) it comes from the options (a store) or the bus
 * (`"inbox"`), never from how the handler is annotated (`NoInfer`): a handler
 * written for another database does not compile. On a bus whose inbox is not
 * known at compile time, annotating the handler's `ctx` names it, as before.
 */
type HandleOf<TTx, TInbox> = unknown extends TInbox ? TTx : NoInfer<TTx>;

/**
 * `TInbox`: the handle of the bus's inbox, what `ctx.transaction` hands a
 * handler with `idempotency: "inbox"` (a pg PoolClient for `postgresInbox`, a
 * better-sqlite3 Database on `sqlite://`); `never` when the bus has no inbox,
 * `unknown` when it is not known at compile time (inbox-handles.ts).
 */
export interface Bus<TInbox = unknown> {
  readonly service: string;
  readonly transport: Transport;
  /** Validate, then publish; resolves after the broker's durable confirm. */
  publish<M extends AnyDefinition>(definition: M, data: MessageInput<M>, options?: PublishOptions): Promise<PublishReceipt>;
  /**
   * Start a consumer for one contract (or several sharing a group). With
   * `idempotency: "inbox"` the handler's `ctx.transaction` hands it the bus's
   * inbox handle (`TInbox`); with a store, that store's handle.
   */
  consume<M extends AnyDefinition, TTx = TInbox>(
    definitions: M | readonly M[],
    options: ConsumeOptions<TTx, TInbox>,
    handler: Handler<MessageData<M>, HandleOf<TTx, TInbox>>,
  ): Consumer;
  /** Send a request and wait for its reply. */
  request<M extends AnyDefinition, R extends AnyDefinition>(definition: M, data: MessageInput<M>, options: RequestOptions<R>): Promise<MessageData<R>>;
  /** Declare durably that `group` receives these contracts, before any consumer runs. */
  declare(definitions: AnyDefinition | readonly AnyDefinition[], group: string): Promise<void>;
  /**
   * The dead-letter store of this bus (its `deadLetters` database, else its
   * transport's native store): list, summarise, replay, discard, edit. Edits
   * are validated against the contracts this bus consumes or declared, plus
   * `options.contracts`. Throws ConfigurationError when there is no store.
   */
  deadLetters(options?: DeadLetterAdminOptions): DeadLetterAdmin;
  /**
   * Listen to status events: the broker going down or up, the producer's
   * breaker, the spool filling or draining, and what the transport reports
   * (`transport`: its connection down or up, a subscription failing or
   * resumed). Returns the unsubscribe function.
   */
  onStatus(listener: StatusListener): () => void;
  /** The producer's health now: broker up or down, breaker state, spool depth. Throws ClosedError once `close()` was called. */
  status(): ProducerStatus;
  /**
   * Liveness and readiness now (health.ts): live while open with no failed
   * consumer; ready when also the broker confirms, the producer's breaker is
   * not open and every consumer runs. Answers after `close()` too (not live).
   * `healthHandler(bus)` serves it to probes.
   */
  health(): BusHealth;
  /** Stop consumers (in-flight handlers get `deadline`, default 10 s), flush publishes, close the transport. */
  close(options?: { deadline?: Duration }): Promise<void>;
}

export class BusImpl<TInbox = unknown> implements Bus<TInbox> {
  readonly service: string;
  private readonly producer: Producer;
  private readonly consumers = new Set<ConsumerImpl>();
  /** Consumers an error stopped: closed, but health() keeps reporting them until the process restarts. */
  private readonly failed = new Set<ConsumerImpl>();
  private readonly requester: Requester;
  private closed = false;
  /** Contracts this bus consumes or declared, by type: what dead-letter edits are validated against. */
  private readonly known = new Map<string, MessageDefinition>();
  /** The transport the runtime uses: `transport` itself, or the delay fill around it. */
  private readonly runtime: Transport;
  /** Stops reporting this bus's queues in the metrics (queue-gauges.ts). */
  private readonly stopQueueGauges: () => void;
  private readonly events: StatusEvents;
  /** Set when the transport keeps service reports and they are not turned off. */
  private readonly reporter: ServiceReporter | undefined;

  constructor(
    /** The transport as given; the runtime works on it through the delay fill when it has no native delay (ADR 008). */
    readonly transport: Transport,
    private readonly settings: BusSettings,
    /** The `inbox` option, else the transport's own; missive() checked it against the `idempotency` default. */
    private readonly defaultInbox: InboxStore<unknown> | undefined,
    spool?: Spool,
    events?: StatusEvents,
  ) {
    this.service = settings.service;
    // Without native delay the runtime delays (delayed publishes, retries): producer, consumers and requester all go through it.
    this.runtime = transport.capabilities.nativeDelay ? transport : withRuntimeDelay(transport, settings.logger);
    this.events = events ?? new StatusEvents(settings.logger);
    this.producer = new Producer(this.runtime, settings.producer, settings.random, settings.logger, spool, this.events);
    this.requester = new Requester(this.runtime, this.producer, settings.limits, settings.logger);
    this.stopQueueGauges = queueGaugesFor(transport, settings);
    const interval = settings.reportIntervalMs;
    this.reporter = interval !== undefined && reportsServices(transport)
      ? new ServiceReporter(transport, settings.service, interval, () => this.producer.status(), settings.logger)
      : undefined;
  }

  publish<M extends AnyDefinition>(definition: M, data: MessageInput<M>, options?: PublishOptions): Promise<PublishReceipt> {
    return this.producer.publish(definition, data, options);
  }

  onStatus(listener: StatusListener): () => void {
    return this.producer.onStatus(listener);
  }

  status(): ProducerStatus {
    // Its spool file is closed with the bus: reading it now would fail inside the SQLite driver.
    if (this.closed) throw new ClosedError("the bus is closed: status() answers only while it is open");
    return this.producer.status();
  }

  health(): BusHealth {
    return assessHealth({ closed: this.closed, producer: this.closed ? undefined : this.producer.status(), consumers: [...this.failed, ...this.consumers] });
  }

  consume<M extends AnyDefinition, TTx = TInbox>(
    definitions: M | readonly M[],
    options: ConsumeOptions<TTx, TInbox>,
    handler: Handler<MessageData<M>, HandleOf<TTx, TInbox>>,
  ): Consumer {
    if (this.closed) throw new ClosedError("the bus is closed");
    const settings = consumerSettings(options as ConsumeOptions<unknown>);
    const registry = this.remember(registryOf(definitions));
    const idempotency = (options.idempotency as ConsumeOptions<unknown>["idempotency"]) ?? this.settings.idempotency;
    let inbox: InboxStore<unknown> | undefined;
    if (idempotency === "inbox") {
      inbox = this.defaultInbox;
      if (!inbox) throw missingInboxError(this.transport.name, { group: settings.group });
    } else if (idempotency !== "none") {
      inbox = checkInboxStore(idempotency, "idempotency");
    }
    const metrics = this.reporter === undefined ? undefined : new ConsumerMetrics(settings.group, settings.slo ?? null);
    let unreport = (): void => undefined;
    const consumer = new ConsumerImpl({
      transport: this.runtime,
      registry,
      settings,
      handler: handler as Handler<unknown, unknown>,
      inbox,
      ...(this.settings.deadLetters ? { deadLetters: this.settings.deadLetters } : {}),
      limits: this.settings.limits,
      producer: this.producer,
      log: this.settings.logger,
      random: this.settings.random,
      onClosed: (c) => {
        unreport();
        this.consumers.delete(c);
        if (c.state === "failed") this.failed.add(c);
      },
      onState: consumerReporter(settings.group, this.events, this.settings.logger),
      metrics,
    });
    if (metrics !== undefined) unreport = this.reporter!.add({ metrics, busiestKeys: (limit) => consumer.busiestKeys(limit) });
    consumer.ready.catch((err: unknown) => {
      // A start cut short by close (the broker never answered) is no failure.
      if (!this.closed) this.settings.logger.error({ err, group: settings.group }, "consumer failed to start");
    });
    this.consumers.add(consumer);
    return consumer;
  }

  async request<M extends AnyDefinition, R extends AnyDefinition>(definition: M, data: MessageInput<M>, options: RequestOptions<R>): Promise<MessageData<R>> {
    const { reply, timeout, ...publishOptions } = options;
    return (await this.requester.request(definition, data, reply, toMs(timeout ?? "10s", "timeout"), publishOptions)) as MessageData<R>;
  }

  async declare(definitions: AnyDefinition | readonly AnyDefinition[], group: string): Promise<void> {
    consumerSettings({ group });
    await this.transport.bind(group, this.remember(registryOf(definitions)).types());
  }

  deadLetters(options?: DeadLetterAdminOptions): DeadLetterAdmin {
    const database = this.settings.deadLetters ? { deadLetters: this.settings.deadLetters } : {};
    return deadLetterAdmin(this.transport, { limits: this.settings.limits, ...database, ...options, contracts: [...this.known.values(), ...(options?.contracts ?? [])] });
  }

  private remember(registry: ContractRegistry): ContractRegistry {
    for (const type of registry.types()) if (!this.known.has(type)) this.known.set(type, registry.get(type)!);
    return registry;
  }

  async close(options?: { deadline?: Duration }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopQueueGauges();
    const deadlineMs = toMs(options?.deadline ?? "10s", "deadline");
    await Promise.all([...this.consumers].map((c) => c.close(deadlineMs)));
    await this.reporter?.close();
    await this.requester.close();
    await this.producer.close(deadlineMs);
    await this.transport.close();
  }
}

function queueGaugesFor(transport: Transport, settings: BusSettings): () => void {
  if (!canInspectQueues(transport)) return () => undefined; // nothing to report, nothing to stop
  const database = settings.deadLetters;
  return observeQueues({
    system: transport.name,
    log: settings.logger,
    read: () => transport.stats(),
    ...(database ? { deadLetters: (group: string) => database.count({ group }) } : {}),
  });
}

function registryOf(definitions: AnyDefinition | readonly AnyDefinition[]): ContractRegistry {
  const registry = new ContractRegistry();
  const list: readonly AnyDefinition[] = Array.isArray(definitions) ? definitions : [definitions as AnyDefinition];
  if (list.length === 0) throw new ConfigurationError("consume needs at least one message definition");
  for (const d of list) registry.add(d as MessageDefinition);
  return registry;
}

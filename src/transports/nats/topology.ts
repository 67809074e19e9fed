/**
 * Streams and consumers, made from code (ADR 010). A topic's stream and a
 * group's own stream use interest retention: a message stays until every
 * consumer (group) on the stream has acked it, and a stream exists only
 * once a group is bound, so a publish no stream captures is unroutable
 * (the server has no responder for its subject). File storage, the
 * configured replicas and duplicate window. Consumers are durable, pull,
 * explicit ack, deliver-all; ack wait is the subscription's lease.
 */
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamManager, JetStreamApiError } from "@nats-io/jetstream";
import { ConfigurationError } from "../../errors.js";
import type { NatsNames } from "./names.js";
import type { ResolvedNatsOptions } from "./options.js";

const MS = 1_000_000;
/** JetStream's API error codes (err_code) this file tells apart. */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
/** The group's MaxAckPending, shared by every process of the group; each process holds at most its prefetch (subscription.ts). */
export const GROUP_MAX_ACK_PENDING = 10_000;
/** The ack wait of a consumer made by bind() before any subscriber set its lease, ms. */
export const DEFAULT_ACK_WAIT_MS = 30_000;

export function isNotFound(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  const code = err.apiError().err_code;
  return code === STREAM_NOT_FOUND || code === CONSUMER_NOT_FOUND;
}

/** An ordered consumer found with another filter was deleted, to be made again. */
class ConsumerReplaced extends Error {}

export class Topology {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly names: NatsNames,
    private readonly options: ResolvedNatsOptions,
  ) {}

  /** `keyed`: a topic stream, which also captures the keyed subjects under its own (ADR 012); added to an older stream. */
  async ensureStream(stream: string, subject: string, create = this.options.create, keyed = false): Promise<void> {
    const subjects = keyed ? [subject, `${subject}.>`] : [subject];
    try {
      const info = await this.jsm.streams.info(stream);
      if (keyed && !info.config.subjects.includes(`${subject}.>`)) await this.jsm.streams.update(stream, { ...info.config, subjects });
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!create) throw new ConfigurationError(`nats: stream ${stream} does not exist (create is off)`);
    await this.jsm.streams.add({
      name: stream,
      subjects,
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
      num_replicas: this.options.replicas,
      duplicate_window: this.options.duplicateWindowMs * MS,
    });
  }

  /**
   * The group's durable consumer on `stream`, with `ackWaitMs` when given (a subscriber's lease). `filter`: an
   * ordered group's consumer of one partition or of the bare subject (ADR 012); undefined for an unordered group's,
   * which reads the whole stream. An unordered consumer found where an ordered one is asked for (a group declared
   * before it was consumed ordered) is replaced, the partitions first, so the stream keeps its messages.
   */
  async ensureConsumer(stream: string, group: string, ackWaitMs: number | undefined, create = this.options.create, filter?: { readonly name: string; readonly subject: string }): Promise<boolean> {
    const name = filter?.name ?? this.names.consumer(group);
    try {
      const info = await this.jsm.consumers.info(stream, name);
      const found = info.config.filter_subject ?? "";
      // An ordered group's consumer found by bind() (a declare) stays as it is; subscribe refuses to read it unordered.
      if (filter !== undefined && found !== filter.subject) {
        await this.jsm.consumers.delete(stream, name);
        throw new ConsumerReplaced();
      }
      if (ackWaitMs !== undefined && info.config.ack_wait !== ackWaitMs * MS) {
        await this.jsm.consumers.update(stream, name, { ack_wait: ackWaitMs * MS });
      }
      return false;
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof ConsumerReplaced)) throw err;
    }
    if (!create) throw new ConfigurationError(`nats: consumer ${name} on ${stream} does not exist (create is off)`);
    await this.jsm.consumers.add(stream, {
      durable_name: name,
      ...(filter === undefined ? {} : { filter_subject: filter.subject }),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: (ackWaitMs ?? DEFAULT_ACK_WAIT_MS) * MS,
      max_ack_pending: GROUP_MAX_ACK_PENDING,
      max_deliver: -1,
    });
    return true;
  }

  /** Every stream a group reads: its topics' and its own, each with its consumer. True when a consumer had to be made. */
  async bind(group: string, topics: readonly string[], ackWaitMs?: number, create = this.options.create): Promise<boolean> {
    const own = this.names.groupStream(group);
    await this.ensureStream(own, this.names.groupSubject(group), create);
    let made = await this.ensureConsumer(own, group, ackWaitMs, create);
    for (const topic of topics) {
      const stream = this.names.topicStream(topic);
      await this.ensureStream(stream, this.names.topicSubject(topic), create, true);
      made = (await this.ensureConsumer(stream, group, ackWaitMs, create)) || made;
    }
    return made;
  }

  /**
   * An ordered group (ADR 012): its own stream as in bind(); on each topic stream a consumer per partition and the
   * group's consumer narrowed to the bare subject. Partitions are made first, so replacing an unordered consumer
   * never leaves a message without a consumer that wants it (interest retention would drop it).
   */
  async bindOrdered(group: string, topics: readonly string[], partitions: number, ackWaitMs?: number, create = this.options.create): Promise<boolean> {
    const own = this.names.groupStream(group);
    await this.ensureStream(own, this.names.groupSubject(group), create);
    let made = await this.ensureConsumer(own, group, ackWaitMs, create);
    for (const topic of topics) {
      const stream = this.names.topicStream(topic);
      await this.ensureStream(stream, this.names.topicSubject(topic), create, true);
      for (let i = 0; i < partitions; i++) {
        const filter = { name: this.names.partitionConsumer(group, i), subject: this.names.partitionFilter(topic, i, partitions) };
        made = (await this.ensureConsumer(stream, group, ackWaitMs, create, filter)) || made;
      }
      const bare = { name: this.names.consumer(group), subject: this.names.topicSubject(topic) };
      made = (await this.ensureConsumer(stream, group, ackWaitMs, create, bare)) || made;
    }
    return made;
  }

  /** An unordered subscription of a group made ordered would read only its bare subject: refused. */
  async refuseOrdered(group: string, topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      try {
        const info = await this.jsm.consumers.info(this.names.topicStream(topic), this.names.consumer(group));
        if ((info.config.filter_subject ?? "") !== "") {
          throw new ConfigurationError(`nats: group ${JSON.stringify(group)} is ordered (partitioned by key); consume it with \`ordered: true\``);
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** A temporary group goes: its consumers, its own stream, and a topic stream no other group reads (so the topic is unroutable again). */
  async unbind(group: string, topics: readonly string[]): Promise<void> {
    await this.deleteQuietly(() => this.jsm.streams.delete(this.names.groupStream(group)));
    for (const topic of topics) {
      const stream = this.names.topicStream(topic);
      await this.deleteQuietly(() => this.jsm.consumers.delete(stream, this.names.consumer(group)));
      try {
        const info = await this.jsm.streams.info(stream);
        if (info.state.consumer_count === 0) await this.jsm.streams.delete(stream);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async deleteQuietly(remove: () => Promise<boolean>): Promise<void> {
    try {
      await remove();
    } catch (err) {
      // Already gone is what we wanted.
      if (!isNotFound(err)) throw err;
    }
  }
}

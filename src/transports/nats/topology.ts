/**
 * Streams and consumers, made from code (ADR 010). A topic's stream and a
 * group's own stream use interest retention: a message stays until every
 * consumer (group) on the stream has acked it, and a stream exists only
 * once a group is bound, so a publish no stream captures is unroutable
 * (the server has no responder for its subject). File storage, the
 * configured replicas and duplicate window. Consumers are durable, pull,
 * explicit ack, deliver-all; ack wait is the subscription's lease.
 */
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type ConsumerInfo, type JetStreamManager, JetStreamApiError, type StreamInfo } from "@nats-io/jetstream";
import { ConfigurationError } from "../../errors.js";
import type { NatsNames } from "./names.js";
import type { ResolvedNatsOptions } from "./options.js";

const MS = 1_000_000;
/** JetStream's API error codes (err_code) this file tells apart. */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
/** A consumer lookup's answer when the stream itself does not exist. */
const STREAM_GONE = "stream-gone";
/** The group's MaxAckPending, shared by every process of the group; each process holds at most its prefetch (subscription.ts). */
export const GROUP_MAX_ACK_PENDING = 10_000;
/** The ack wait of a consumer made by bind() before any subscriber set its lease, ms. */
export const DEFAULT_ACK_WAIT_MS = 30_000;

export function isNotFound(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  const code = err.apiError().err_code;
  return code === STREAM_NOT_FOUND || code === CONSUMER_NOT_FOUND;
}

/** A consumer to ensure on a stream: the group's (no filter) or a filtered one of an ordered group. */
interface Want {
  readonly name: string;
  readonly filter: { readonly name: string; readonly subject: string } | undefined;
}

/** One stream and the consumers to ensure on it; `stages` run one after another, the wants of a stage at once. */
interface Site {
  readonly stream: string;
  readonly subject: string;
  readonly keyed: boolean;
  readonly stages: readonly (readonly Want[])[];
}

/** A stream this connection already saw with the subjects it needs, not looked up again. */
const VERIFIED = "verified";

/** What the server said of a site before anything is changed: undefined where a stream or consumer does not exist. */
interface Looked {
  readonly site: Site;
  readonly stream: StreamInfo | typeof VERIFIED | undefined;
  readonly consumers: ReadonlyMap<string, ConsumerInfo | undefined>;
}

export class Topology {
  /**
   * Streams seen on this connection with the subjects they need. Only an operator (or unbind() here) removes one,
   * and a consumer lookup on a removed stream says so (stream not found), which drops it from here; forgotten
   * anyway when the connection is made again.
   */
  private readonly verified = new Set<string>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly names: NatsNames,
    private readonly options: ResolvedNatsOptions,
  ) {}

  /**
   * Every stream a group reads: its topics' and its own, each with its consumer. True when a consumer had to be made.
   * `refuseOrdered`: an unordered subscription, refused (before anything is made) when the group is ordered, as a
   * group made ordered would be read only on its bare subject.
   */
  async bind(group: string, topics: readonly string[], ackWaitMs?: number, create = this.options.create, refuseOrdered = false): Promise<boolean> {
    const want: Want = { name: this.names.consumer(group), filter: undefined };
    const sites = [this.ownSite(group), ...topics.map((topic) => this.topicSite(topic, [[want]]))];
    const looked = await this.lookUp(sites);
    if (refuseOrdered) {
      for (const l of looked.slice(1)) {
        if ((l.consumers.get(want.name)?.config.filter_subject ?? "") !== "") {
          throw new ConfigurationError(`nats: group ${JSON.stringify(group)} is ordered (partitioned by key); consume it with \`ordered: true\``);
        }
      }
    }
    return this.apply(looked, ackWaitMs, create);
  }

  /**
   * An ordered group (ADR 012): its own stream as in bind(); on each topic stream a consumer per partition and the
   * group's consumer narrowed to the bare subject. Partitions are made first, so replacing an unordered consumer
   * never leaves a message without a consumer that wants it (interest retention would drop it).
   */
  async bindOrdered(group: string, topics: readonly string[], partitions: number, ackWaitMs?: number, create = this.options.create): Promise<boolean> {
    const sites = [
      this.ownSite(group),
      ...topics.map((topic) => {
        const parts = Array.from({ length: partitions }, (_, i): Want => {
          const name = this.names.partitionConsumer(group, i);
          return { name, filter: { name, subject: this.names.partitionFilter(topic, i, partitions) } };
        });
        const name = this.names.consumer(group);
        return this.topicSite(topic, [parts, [{ name, filter: { name, subject: this.names.topicSubject(topic) } }]]);
      }),
    ];
    return this.apply(await this.lookUp(sites), ackWaitMs, create);
  }

  /** The connection was made again (maybe to another server): every stream is looked up again. */
  forget(): void {
    this.verified.clear();
  }

  private ownSite(group: string): Site {
    const want: Want = { name: this.names.consumer(group), filter: undefined };
    return { stream: this.names.groupStream(group), subject: this.names.groupSubject(group), keyed: false, stages: [[want]] };
  }

  private topicSite(topic: string, stages: readonly (readonly Want[])[]): Site {
    return { stream: this.names.topicStream(topic), subject: this.names.topicSubject(topic), keyed: true, stages };
  }

  /**
   * Every lookup of every site at once: none depends on another (a consumer's lookup on a missing stream answers
   * not found like a missing consumer), so a bind costs one round trip when its topology is already there. A
   * verified stream is not looked up; if a consumer lookup finds it gone, it is made again like a missing one.
   */
  private lookUp(sites: readonly Site[]): Promise<Looked[]> {
    return Promise.all(sites.map(async (site): Promise<Looked> => {
      const wants = site.stages.flat();
      const known = this.verified.has(site.stream);
      const [found, ...infos] = await Promise.all([
        known ? (VERIFIED as typeof VERIFIED) : this.streamInfo(site.stream),
        ...wants.map((w) => this.consumerInfo(site.stream, w.name)),
      ]);
      const gone = infos.some((i) => i === STREAM_GONE);
      if (gone) this.verified.delete(site.stream);
      const stream = gone && found === VERIFIED ? undefined : found;
      return { site, stream, consumers: new Map(wants.map((w, i) => [w.name, infos[i] === STREAM_GONE ? undefined : infos[i]])) };
    }));
  }

  /** Sites are independent of each other; within one, the stream first, then each stage in turn. */
  private async apply(looked: readonly Looked[], ackWaitMs: number | undefined, create: boolean): Promise<boolean> {
    const made = await Promise.all(looked.map(async ({ site, stream, consumers }) => {
      await this.ensureStreamFrom(stream, site.stream, site.subject, create, site.keyed);
      let any = false;
      for (const stage of site.stages) {
        const results = await Promise.all(stage.map((w) => this.ensureConsumerFrom(consumers.get(w.name), site.stream, w.name, ackWaitMs, create, w.filter)));
        any = results.some(Boolean) || any;
      }
      return any;
    }));
    return made.some(Boolean);
  }

  /** `keyed`: a topic stream, which also captures the keyed subjects under its own (ADR 012); added to an older stream. */
  private async ensureStreamFrom(info: StreamInfo | typeof VERIFIED | undefined, stream: string, subject: string, create: boolean, keyed: boolean): Promise<void> {
    if (info === VERIFIED) return;
    await this.makeStream(info, stream, subject, create, keyed);
    this.verified.add(stream);
  }

  private async makeStream(info: StreamInfo | undefined, stream: string, subject: string, create: boolean, keyed: boolean): Promise<void> {
    const subjects = keyed ? [subject, `${subject}.>`] : [subject];
    if (info !== undefined) {
      if (keyed && !info.config.subjects.includes(`${subject}.>`)) await this.jsm.streams.update(stream, { ...info.config, subjects });
      return;
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
   * The group's durable consumer `name` on `stream`, from what a lookup found (undefined: nothing), with `ackWaitMs`
   * when given (a subscriber's lease). `filter`: an ordered group's consumer of one partition or of the bare subject
   * (ADR 012); undefined for an unordered group's, which reads the whole stream. An unordered consumer found where an
   * ordered one is asked for (a group declared before it was consumed ordered) is replaced. True when it was made.
   */
  private async ensureConsumerFrom(
    info: ConsumerInfo | undefined, stream: string, name: string, ackWaitMs: number | undefined, create: boolean,
    filter: { readonly name: string; readonly subject: string } | undefined,
  ): Promise<boolean> {
    if (info !== undefined) {
      const found = info.config.filter_subject ?? "";
      // An ordered group's consumer found by bind() (a declare) stays as it is; subscribe refuses to read it unordered.
      if (filter === undefined || found === filter.subject) {
        if (ackWaitMs !== undefined && info.config.ack_wait !== ackWaitMs * MS) {
          await this.jsm.consumers.update(stream, name, { ack_wait: ackWaitMs * MS });
        }
        return false;
      }
      await this.deleteQuietly(() => this.jsm.consumers.delete(stream, name));
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

  private async streamInfo(stream: string): Promise<StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(stream);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return undefined;
    }
  }

  /** Undefined: no such consumer; STREAM_GONE: no such stream either. */
  private async consumerInfo(stream: string, name: string): Promise<ConsumerInfo | typeof STREAM_GONE | undefined> {
    try {
      return await this.jsm.consumers.info(stream, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return err instanceof JetStreamApiError && err.apiError().err_code === STREAM_NOT_FOUND ? STREAM_GONE : undefined;
    }
  }

  /** A temporary group goes: its consumers, its own stream, and a topic stream no other group reads (so the topic is unroutable again). */
  async unbind(group: string, topics: readonly string[]): Promise<void> {
    this.verified.delete(this.names.groupStream(group));
    await this.deleteQuietly(() => this.jsm.streams.delete(this.names.groupStream(group)));
    for (const topic of topics) {
      const stream = this.names.topicStream(topic);
      this.verified.delete(stream);
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

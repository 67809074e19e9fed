/**
 * Queue statistics on RabbitMQ, from what AMQP can tell plus what missive
 * records itself (AMQP cannot list queues, and declare-ok counts only ready
 * messages):
 *
 * - groups: the catalog's durable groups (catalog.ts) whose queue still exists;
 * - ready, consumers: the group queue's declare-ok (passive); an ordered
 *   (partitioned) group's ready adds its partition queues' (every ordered
 *   subscription also consumes the group queue, so its consumers count them);
 * - deadLetters: the dead-letter queue's ready count (during a dead-letter
 *   scan its entries are unacked, so it reads low until the scan ends);
 * - delayed: ready counts of the delay level queues the catalog recorded for
 *   the group and for each of its topics (a topic's delayed message goes to
 *   every group of the topic, so each counts it);
 * - inFlight: the live status reports of missive subscriptions (status-reporter.ts);
 *   a consumer that is not missive reports nothing and is not counted;
 * - oldestAgeMs: exact (to the second of the AMQP timestamp) for messages held
 *   by missive consumers. For ready messages AMQP has no non-destructive read,
 *   so it is an UPPER BOUND: the time since the queue was last known to hold
 *   nothing ready (a consumer with spare prefetch receiving nothing, this
 *   process seeing it empty, or the group's first catalog record). A message
 *   returned by a crashed consumer can make the bound too young. Delayed
 *   messages have no age here: with only delayed messages it is undefined.
 */
import type { QueueStats } from "../../transport/transport.js";
import type { Catalog } from "./catalog.js";
import { deadLetterQueueOf, delayLevelQueue, type DelayDestination } from "./names.js";
import { partitionQueueOf } from "./partition-names.js";
import { QueueProbe } from "./queue-probe.js";
import type { AmqpSession } from "./session.js";
import { readLiveStatus } from "./status-reader.js";
import type { StatusReporter } from "./status-reporter.js";

/** How many groups this process remembers having seen empty (a bound on memory, not a limit on groups). */
const MAX_EMPTY_SEEN = 10_000;

export class StatsReader {
  /** Group → the last unix ms this process saw it with nothing ready and nothing in flight. */
  private readonly seenEmpty = new Map<string, number>();

  constructor(
    private readonly session: AmqpSession,
    private readonly catalog: Catalog,
    private readonly reporter: StatusReporter,
    private readonly declare: boolean,
  ) {}

  async read(): Promise<QueueStats[]> {
    const [groups, live] = await Promise.all([this.catalog.groups(), readLiveStatus(this.session, this.declare, this.reporter.current())]);
    const probe = new QueueProbe(this.session);
    try {
      const out: QueueStats[] = [];
      for (const [group, entry] of groups) {
        const info = await probe.info(group);
        if (!info) continue;
        const now = Date.now();
        const topics = [...entry.topics].sort();
        const dead = await probe.info(deadLetterQueueOf(group));
        let delayed = 0;
        const destinations: DelayDestination[] = [{ kind: "group", name: group }, ...topics.map((name): DelayDestination => ({ kind: "topic", name }))];
        for (const destination of destinations) {
          for (const level of this.catalog.delayLevels(destination)) delayed += (await probe.info(delayLevelQueue(level, destination)))?.messageCount ?? 0;
        }
        const status = live.get(group);
        let ready = info.messageCount;
        for (let i = 0; i < (entry.partitions ?? 0); i++) ready += (await probe.info(partitionQueueOf(group, i)))?.messageCount ?? 0;
        const inFlight = status?.inFlight ?? 0;
        const ages: number[] = [];
        if (inFlight > 0 && status?.oldestAt !== undefined) ages.push(now - status.oldestAt);
        if (ready > 0) ages.push(now - Math.max(entry.since, status?.drainedAt ?? 0, this.seenEmpty.get(group) ?? 0));
        if (ready === 0 && inFlight === 0) this.noteEmpty(group, now);
        out.push({
          group,
          topics,
          depth: ready + inFlight + delayed,
          ready,
          inFlight,
          delayed,
          oldestAgeMs: ages.length === 0 ? undefined : Math.max(0, ...ages),
          deadLetters: dead?.messageCount ?? 0,
          consumers: info.consumerCount,
          temporary: false,
        });
      }
      return out;
    } finally {
      await probe.close();
    }
  }

  private noteEmpty(group: string, now: number): void {
    this.seenEmpty.delete(group);
    this.seenEmpty.set(group, now);
    if (this.seenEmpty.size > MAX_EMPTY_SEEN) this.seenEmpty.delete(this.seenEmpty.keys().next().value!);
  }
}

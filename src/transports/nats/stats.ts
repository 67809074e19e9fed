/**
 * `missive queues` on NATS: every consumer on missive's streams (of this
 * prefix) is one group reading one stream; a group's stats add up its
 * consumers. Ready is `num_pending`, in flight `num_ack_pending`; the
 * oldest age is the store time of the first message past the consumer's
 * ack floor. JetStream cannot tell live subscribers of a pull consumer
 * (only waiting pull requests), so `consumers` is undefined.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { QueueStats } from "../../transport/transport.js";
import { decodeToken, type NatsNames } from "./names.js";

interface GroupTally {
  topics: string[];
  ready: number;
  inFlight: number;
  oldest: number | undefined;
}

export async function readNatsStats(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: NatsNames,
  temporary: ReadonlySet<string>,
  deadLettersOf: (group: string) => Promise<number>,
): Promise<QueueStats[]> {
  const groups = new Map<string, GroupTally>();
  const streams = await jsm.streams.names().next();
  for (const stream of streams) {
    const topic = names.topicOfStream(stream);
    const own = names.groupOfStream(stream);
    if (topic === undefined && own === undefined) continue;
    const consumers = await jsm.consumers.list(stream).next();
    for (const c of consumers) {
      // Consumers are named by the encoded group.
      const group = own ?? decodeToken(c.name);
      const tally = groups.get(group) ?? { topics: [], ready: 0, inFlight: 0, oldest: undefined };
      groups.set(group, tally);
      if (topic !== undefined) tally.topics.push(topic);
      tally.ready += c.num_pending;
      tally.inFlight += c.num_ack_pending;
      if (c.num_pending + c.num_ack_pending > 0) {
        const first = await firstStoredAt(nc, stream, c.ack_floor.stream_seq + 1);
        if (first !== undefined) tally.oldest = Math.min(tally.oldest ?? Infinity, first);
      }
    }
  }
  const now = Date.now();
  const out: QueueStats[] = [];
  for (const [group, t] of groups) out.push({
    group,
    topics: t.topics.sort(),
    depth: t.ready + t.inFlight,
    ready: t.ready,
    inFlight: t.inFlight,
    delayed: 0,
    oldestAgeMs: t.oldest === undefined ? undefined : Math.max(0, now - t.oldest),
    deadLetters: await deadLettersOf(group),
    consumers: undefined,
    temporary: temporary.has(group),
  });
  return out;
}


/** Store time (unix ms) of the first message at or after `seq`: `next_by_subj` in a STREAM.MSG.GET (server 2.9+; the typed client API omits it). */
async function firstStoredAt(nc: NatsConnection, stream: string, seq: number): Promise<number | undefined> {
  const reply = await nc.request(`$JS.API.STREAM.MSG.GET.${stream}`, JSON.stringify({ seq, next_by_subj: ">" }), { timeout: 5_000 });
  const body = reply.json<{ message?: { time: string }; error?: { code: number } }>();
  // 404: nothing at or after seq any more (acked meanwhile); the tally stays without it.
  return body.message === undefined ? undefined : Date.parse(body.message.time);
}

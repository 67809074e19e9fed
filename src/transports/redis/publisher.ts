/**
 * Publishing: one pipeline per batch, each message an `XADD … NOMKSTREAM`
 * to its topic's stream (or its group's, when addressed to one group). A
 * stream exists only while a group is bound to it, so a nil reply is
 * UnroutableError for that message alone; an entry id is its confirm
 * (what it is worth depends on the server's persistence: durability.ts).
 * A failed pipeline (connection lost) fails the whole batch: some may be
 * stored, and the producer retries under the same ids (duplicates are the
 * inbox's to remove).
 */
import { ReplyError, type Redis } from "ioredis";
import { ConnectionError, MessageTooLargeError, TransientError, UnroutableError } from "../../errors.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { reasonOf } from "../../transport/context.js";
import { overLimit, TOPIC_FIELD, toFields, wireBytes } from "./fields.js";
import type { RedisNames } from "./names.js";

export async function publishBatch(redis: Redis, names: RedisNames, batch: readonly OutgoingMessage[], maxMessageBytes: number): Promise<PublishResult[]> {
  const results: PublishResult[] = new Array<PublishResult>(batch.length);
  const sent: number[] = [];
  const pipeline = redis.pipeline();
  batch.forEach((m, i) => {
    if (overLimit(m.wire, maxMessageBytes)) {
      results[i] = new MessageTooLargeError(`redis: message ${m.id} is ${wireBytes(m.wire)} bytes, over the limit of ${maxMessageBytes}`);
      return;
    }
    const stream = m.group === undefined ? names.topicStream(m.topic) : names.groupStream(m.group);
    const fields = m.group === undefined ? toFields(m.wire) : toFields(m.wire, { [TOPIC_FIELD]: m.topic });
    pipeline.xadd(stream, "NOMKSTREAM", "*", ...fields);
    sent.push(i);
  });
  if (sent.length === 0) return results;
  let replies: Array<[Error | null, unknown]> | null;
  try {
    replies = await pipeline.exec();
  } catch (err) {
    throw new ConnectionError(`redis: publishing ${sent.length} messages failed: ${reasonOf(err)}`, { cause: err });
  }
  if (replies === null) throw new ConnectionError(`redis: publishing ${sent.length} messages got no reply`);
  let unconfirmed: Error | undefined;
  sent.forEach((index, n) => {
    const m = batch[index]!;
    const [err, id] = replies![n] ?? [new Error("no reply"), null];
    if (err === null) {
      results[index] = id === null ? unroutable(m) : undefined;
    } else if (err instanceof ReplyError) {
      // The server refused this entry (out of memory, a key of another type): this message alone, retried by the producer.
      results[index] = new TransientError(`redis: the server refused message ${m.id}: ${err.message}`, { cause: err });
    } else {
      unconfirmed ??= err;
    }
  });
  if (unconfirmed !== undefined) throw new ConnectionError(`redis: a publish was not confirmed: ${unconfirmed.message}`, { cause: unconfirmed });
  return results;
}

function unroutable(m: OutgoingMessage): UnroutableError {
  return m.group === undefined
    ? new UnroutableError(`redis: no group is bound to topic ${JSON.stringify(m.topic)} (message ${m.id})`)
    : new UnroutableError(`redis: group ${JSON.stringify(m.group)} does not exist (message ${m.id})`);
}

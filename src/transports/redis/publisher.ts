/**
 * Publishing: per batch, one publish script call per
 * stream (scripts.ts PUBLISH_MANY) that runs each message's own `XADD …
 * NOMKSTREAM` to its topic's stream (or its group's, when addressed to one
 * group), the entries packed into one argument (entry-pack.ts: why one
 * argument and not an XADD each), written together (send-together.ts: why
 * not an ioredis pipeline). A stream exists only while a group is
 * bound to it, so a nil reply is UnroutableError for that message alone;
 * the script's reply (the count of entries added when all were, else a
 * verdict per message: scripts.ts) is the confirm (what it is worth depends
 * on the server's persistence: durability.ts), and a server's refusal is
 * that message's alone too. A call that failed otherwise (connection lost) fails the whole batch:
 * some may be stored, and the producer retries under the same ids
 * (duplicates are the inbox's to remove).
 */
import { ReplyError } from "ioredis";
import { ConnectionError, MessageTooLargeError, TransientError, UnroutableError } from "../../errors.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { EntryPack } from "./entry-pack.js";
import { asXaddFields, BODY_FIELD, entryFields, TOPIC_FIELD, wireBytes } from "./fields.js";
import type { RedisNames } from "./names.js";
import type { ScriptedRedis } from "./scripts.js";
import { corked, repliesOf, type Reply } from "./send-together.js";

/**
 * Messages per script call, and its packed bytes: a call takes no more entries once it holds this
 * many bytes (so at most this plus one message), bounded so one call's argument and the script's
 * tables stay small.
 */
const CALL_ENTRIES = 512;
const CALL_BYTES = 1 << 20;
/** Fields above which a message goes as an XADD of its own: the script's unpack() takes a few thousand values at most. */
const SCRIPT_FIELDS = 1_000;
/** Packed bytes a call's buffer starts with per message it may take (a bench event is about 400): most batches never grow it. */
const ENTRY_GUESS = 512;

/**
 * The producer's default batch on Redis (capabilities.publishBatch). With every waiting publish in one
 * batch, the client packs while the server idles and the server runs the script while the client
 * waits; at 128 the next batch is packed while the server runs the last (two batches in flight),
 * with 256 publishers +35-60% msg/s against 512 in producer-quick at about the same CPU per message,
 * no gain under appendfsync always, where the fsync bounds it (docs/transports/redis.md).
 */
export const REDIS_PUBLISH_BATCH = 128;

/** One command of the batch: a script call for a run of one stream's messages (`pack`), or a single XADD (`fields`). */
interface Call {
  readonly stream: string;
  readonly indexes: number[];
  readonly pack: EntryPack | undefined;
  readonly fields: Array<string | Buffer> | undefined;
}

export async function publishBatch(redis: ScriptedRedis, names: RedisNames, batch: readonly OutgoingMessage[], maxMessageBytes: number): Promise<PublishResult[]> {
  const results: PublishResult[] = new Array<PublishResult>(batch.length);
  const calls: Call[] = [];
  // The call of each stream still taking messages: a stream's messages stay in their order (calls and XADDs go in order).
  const open = new Map<string, Call>();
  // A batch is nearly always of one topic: its stream's name is made once, not concatenated per message.
  let lastTopic: string | undefined;
  let lastStream = "";
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    const body = m.wire.body;
    // Over the limit by its body alone: refused before any of it is copied.
    if (body.byteLength > maxMessageBytes) {
      results[i] = tooLarge(m, maxMessageBytes);
      continue;
    }
    let stream: string;
    if (m.group !== undefined) stream = names.groupStream(m.group);
    else if (m.topic === lastTopic) stream = lastStream;
    else stream = lastStream = names.topicStream((lastTopic = m.topic));
    let call = open.get(stream);
    if (call === undefined || call.indexes.length >= CALL_ENTRIES || call.pack!.size >= CALL_BYTES) {
      call = { stream, indexes: [], pack: new EntryPack(Math.min(batch.length - i, CALL_ENTRIES) * ENTRY_GUESS), fields: undefined };
      open.set(stream, call);
    }
    const pack = call.pack!;
    pack.begin();
    let fields = 2;
    const headers = m.wire.headers;
    for (const name in headers) {
      pack.string(name);
      pack.string(headers[name]!);
      fields += 2;
    }
    // The message's size for the limit: its headers' bytes and its body (missive's own fields not counted).
    const bytes = pack.entryBytes + body.byteLength;
    if (bytes > maxMessageBytes || fields > SCRIPT_FIELDS) {
      pack.rewind();
      if (bytes > maxMessageBytes) results[i] = tooLarge(m, maxMessageBytes);
      else {
        // Later messages of its stream go after it, in a call of their own.
        open.delete(stream);
        calls.push({ stream, indexes: [i], pack: undefined, fields: asXaddFields(extraFields(m)) });
      }
      continue;
    }
    if (m.group !== undefined) {
      pack.string(TOPIC_FIELD);
      pack.string(m.topic);
      fields += 2;
    }
    pack.string(BODY_FIELD);
    pack.bytes(body);
    pack.end(fields);
    // Listed with its first entry: a call whose every message went another way is never sent.
    if (call.indexes.length === 0) calls.push(call);
    call.indexes.push(i);
  }
  if (calls.length === 0) return results;
  const replies = await repliesOf(corked(redis, () => calls.map((call) => (call.fields !== undefined
    ? redis.xadd(call.stream, "NOMKSTREAM", "*", ...call.fields)
    : redis.missivePublishMany(call.stream, call.pack!.finish())))));
  let unconfirmed: Error | undefined;
  calls.forEach((call, n) => {
    const [err, reply]: Reply = replies[n] ?? [new Error("no reply"), null];
    if (err !== null) {
      if (err instanceof ReplyError) for (const i of call.indexes) results[i] = refused(batch[i]!, err);
      else unconfirmed ??= err;
      return;
    }
    // A script call that added every entry replies their count (results hold undefined, confirmed, already).
    if (typeof reply === "number") {
      if (reply !== call.indexes.length) unconfirmed ??= new Error(`${reply} of ${call.indexes.length} messages confirmed`);
      return;
    }
    // A single XADD replies its id or nil; a script call, per message, 1, nil, or [the server's error].
    const each: unknown[] = call.fields !== undefined ? [reply] : (reply as unknown[]);
    call.indexes.forEach((i, k) => {
      const one = each[k];
      if (typeof one === "string" || one === 1) results[i] = undefined;
      else if (one === null) results[i] = unroutable(batch[i]!);
      else if (Array.isArray(one)) results[i] = refused(batch[i]!, new ReplyError(String(one[0])));
      else unconfirmed ??= new Error(`no reply for message ${batch[i]!.id}`);
    });
  });
  if (unconfirmed !== undefined) throw new ConnectionError(`redis: a publish was not confirmed: ${unconfirmed.message}`, { cause: unconfirmed });
  return results;
}

/** A message's fields as its own XADD takes them (one with too many fields for the script). */
function extraFields(m: OutgoingMessage): Array<string | Uint8Array> {
  return m.group === undefined ? entryFields(m.wire) : entryFields(m.wire, { [TOPIC_FIELD]: m.topic });
}

function tooLarge(m: OutgoingMessage, maxMessageBytes: number): MessageTooLargeError {
  return new MessageTooLargeError(`redis: message ${m.id} is ${wireBytes(m.wire)} bytes, over the limit of ${maxMessageBytes}`);
}

/** The server refused this entry (out of memory, a key of another type): this message alone, retried by the producer. */
function refused(m: OutgoingMessage, err: Error): TransientError {
  return new TransientError(`redis: the server refused message ${m.id}: ${err.message}`, { cause: err });
}

function unroutable(m: OutgoingMessage): UnroutableError {
  return m.group === undefined
    ? new UnroutableError(`redis: no group is bound to topic ${JSON.stringify(m.topic)} (message ${m.id})`)
    : new UnroutableError(`redis: group ${JSON.stringify(m.group)} does not exist (message ${m.id})`);
}

/**
 * Publishing: each message is a request to its stream's subject carrying
 * `Nats-Msg-Id` = the message id (topic publishes; a copy addressed to
 * one group carries none, see publishOne), and its PubAck is the confirm. Up to
 * `publishWindow` requests are outstanding at once, their PubAcks answered to
 * one inbox of the publisher's (pub-ack-inbox.ts), not through `nc.request`. No responder for the
 * subject means no stream captures it: no group is bound, UnroutableError.
 * A PubAck flagged `duplicate` is a confirm too: the server already had
 * that id (a producer retry after a lost PubAck).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { ClosedConnectionError, DrainingConnectionError, RequestError, TimeoutError } from "@nats-io/nats-core";
import { ConnectionError, MessageTooLargeError, PublishTimeoutError, TransientError, UnroutableError } from "../../errors.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { keyHash } from "../../runtime/key-hash.js";
import { natsHeaderBlock } from "./headers.js";
import type { NatsDelivery } from "./delivery.js";
import type { NatsNames } from "./names.js";
import { PubAckInbox } from "./pub-ack-inbox.js";

interface PubAck {
  readonly stream?: string;
  readonly seq?: number;
  readonly duplicate?: boolean;
  readonly error?: { readonly code: number; readonly err_code?: number; readonly description: string };
}

export interface PublishSettings {
  readonly window: number;
  readonly timeoutMs: number;
  readonly maxMessageBytes: number;
}

/**
 * One window of outstanding PubAcks for the whole transport, sent strictly
 * in the order publish() was called: the producer may have several batches
 * in flight, and a window per batch would let a later batch's messages
 * overtake an earlier one's tail (per-key order is publish order).
 */
export class WindowedPublisher {
  private readonly queue: Array<{ message: OutgoingMessage; done: (r: PublishResult) => void }> = [];
  private outstanding = 0;
  private readonly acks: PubAckInbox;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly settings: PublishSettings,
  ) {
    this.acks = new PubAckInbox(nc, settings.timeoutMs);
  }

  async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const results = await Promise.all(batch.map((message) => new Promise<PublishResult>((done) => {
      this.queue.push({ message, done });
      this.pump();
    })));
    // A message lost to the link or without its PubAck may or may not be stored: the batch fails whole, and the
    // producer retries it under the same ids (the contract's "none, some or all"). The duplicate window removes what
    // was stored (topic publishes); a group-addressed copy may arrive twice, for the inbox to remove.
    const unconfirmed = results.filter((r) => r instanceof ConnectionError || r instanceof PublishTimeoutError);
    if (unconfirmed.length > 0) {
      throw new ConnectionError(`nats: ${unconfirmed.length} of ${results.length} messages were not confirmed (${unconfirmed[0]!.message})`, { cause: unconfirmed[0] });
    }
    return results;
  }

  private pump(): void {
    const limit = Math.min(this.settings.maxMessageBytes, this.nc.info?.max_payload ?? Infinity);
    while (this.outstanding < this.settings.window) {
      const next = this.queue.shift();
      if (next === undefined) return;
      this.outstanding++;
      // publishOne writes its request synchronously, so requests leave in queue order. One then() with both outcomes,
      // not a catch() and a then(): a promise and a closure less per published message.
      publishOne(this.nc, this.acks, this.names, next.message, this.settings.timeoutMs, limit).then(
        (r) => this.answered(next, r),
        // publishOne maps every failure it knows; anything else (a header the client refuses) fails this message alone.
        (err: unknown) => this.answered(next, new TransientError(`nats: publishing message ${next.message.id} failed: ${String(err)}`, { cause: err })),
      );
    }
  }

  private answered(entry: { done: (r: PublishResult) => void }, r: PublishResult): void {
    this.outstanding--;
    entry.done(r);
    this.pump();
  }
}

async function publishOne(nc: NatsConnection, acks: PubAckInbox, names: NatsNames, m: OutgoingMessage, timeoutMs: number, limit: number): Promise<PublishResult> {
  const direct = m.group !== undefined;
  // A message addressed to one group is a copy (a retry of the delay fill, a redrive, a reply) under the id of a
  // message the group stream may already hold within the duplicate window: deduplicating it would drop the retry.
  const headers = natsHeaderBlock(m.wire.headers, direct ? undefined : m.id, direct ? m.topic : undefined);
  const size = m.wire.body.byteLength + headers.bytes.byteLength;
  if (size > limit) return new MessageTooLargeError(`nats: message ${m.id} is ${size} bytes, over the limit of ${limit} (the server's max_payload caps it)`);
  // A keyed topic publish carries its key's hash in the subject: ordered groups consume it by partition (ADR 012).
  const subject = direct ? names.groupSubject(m.group!) : m.key === undefined ? names.topicSubject(m.topic) : names.partitionSubject(m.topic, keyHash(m.key));
  try {
    const reply = await acks.request(subject, m.wire.body, headers.asHeaders());
    if (!mayRefuse(reply.data)) return undefined;
    // JSON that may carry an error, or something that is not JSON at all (which json() refuses, as before).
    const ack = reply.json<PubAck>();
    if (ack.error !== undefined) return new TransientError(`nats: the stream refused message ${m.id}: ${ack.error.description} (${ack.error.err_code ?? ack.error.code})`);
    return undefined;
  } catch (err) {
    if (err instanceof RequestError && err.isNoResponders()) {
      const stream = direct ? names.groupStream(m.group!) : names.topicStream(m.topic);
      // No responder also means a stream without a leader (a cluster electing one after its leader died): only a
      // stream the server says does not exist makes the message unroutable; anything else is retried.
      if (!(await streamMissing(nc, stream, timeoutMs))) {
        return new ConnectionError(`nats: stream ${stream} did not answer (no leader, or JetStream unavailable); the publish is retried`, { cause: err });
      }
      return new UnroutableError(direct ? `nats: no group ${JSON.stringify(m.group)} is bound (no stream for it)` : `nats: no group is bound to topic ${JSON.stringify(m.topic)} (no stream captures it)`, { cause: err });
    }
    if (err instanceof TimeoutError) return new PublishTimeoutError(`nats: no PubAck for message ${m.id} within ${timeoutMs} ms (it may be stored; a retry with the same id is removed as a duplicate)`, { cause: err });
    if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
      return new ConnectionError("nats: the connection closed while publishing", { cause: err });
    }
    return new ConnectionError(`nats: publishing message ${m.id} failed`, { cause: err });
  }
}

/** `"error"` in ASCII: the key of a PubAck that refuses the message. */
const ERROR_KEY = [0x22, 0x65, 0x72, 0x72, 0x6f, 0x72, 0x22];

/**
 * False when the PubAck is a JSON object whose bytes hold no `"error"` (the server writes the key as it is): it
 * cannot be a refusal, so a stored message's PubAck is not decoded and parsed (a string and an object per published
 * message). Anything else is read in full.
 */
export function mayRefuse(data: Uint8Array): boolean {
  if (data[0] !== 0x7b) return true;
  const last = data.length - ERROR_KEY.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < ERROR_KEY.length; j++) if (data[i + j] !== ERROR_KEY[j]) continue outer;
    return true;
  }
  return false;
}

/** A released delivery's copy at the end of its group's own stream, carrying the attempts used so far. */
export async function requeueCopy(nc: NatsConnection, names: NatsNames, d: NatsDelivery, attemptsBefore: number, timeoutMs: number): Promise<void> {
  const headers = natsHeaderBlock(d.wire.headers, undefined, d.topic, attemptsBefore).asHeaders();
  const reply = await nc.request(names.groupSubject(d.group), d.wire.body, { headers, timeout: timeoutMs });
  const ack = reply.json<PubAck>();
  if (ack.error !== undefined) throw new TransientError(`nats: the group stream refused a released message: ${ack.error.description}`);
}

/** JetStream's err_code for a stream that does not exist. */
const STREAM_NOT_FOUND = 10059;

/** True only when JetStream answers that `stream` does not exist; an unanswered or failed look-up is not proof. */
async function streamMissing(nc: NatsConnection, stream: string, timeoutMs: number): Promise<boolean> {
  try {
    const reply = await nc.request(`$JS.API.STREAM.INFO.${stream}`, undefined, { timeout: timeoutMs });
    return reply.json<{ error?: { err_code?: number } }>().error?.err_code === STREAM_NOT_FOUND;
  } catch {
    // JetStream itself did not answer (no meta leader, link down): not a proof that the stream is missing.
    return false;
  }
}

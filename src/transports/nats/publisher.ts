/**
 * Publishing: each message is a request to its stream's subject carrying
 * `Nats-Msg-Id` = the message id, and its PubAck is the confirm. Up to
 * `publishWindow` requests are outstanding at once. No responder for the
 * subject means no stream captures it: no group is bound, UnroutableError.
 * A PubAck flagged `duplicate` is a confirm too: the server already had
 * that id (a producer retry after a lost PubAck).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { ClosedConnectionError, DrainingConnectionError, RequestError, TimeoutError } from "@nats-io/nats-core";
import { ConnectionError, MessageTooLargeError, PublishTimeoutError, TransientError, UnroutableError } from "../../errors.js";
import type { OutgoingMessage, PublishResult } from "../../transport/transport.js";
import { headerBytes, toNatsHeaders } from "./headers.js";
import type { NatsNames } from "./names.js";

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

export async function publishBatch(nc: NatsConnection, names: NatsNames, batch: readonly OutgoingMessage[], settings: PublishSettings): Promise<PublishResult[]> {
  const results: PublishResult[] = new Array<PublishResult>(batch.length);
  const limit = Math.min(settings.maxMessageBytes, nc.info?.max_payload ?? Infinity);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batch.length) {
      const i = next++;
      results[i] = await publishOne(nc, names, batch[i]!, settings.timeoutMs, limit);
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.window, batch.length) }, worker));
  // Every message lost to the link (none stored for sure): the whole batch failed.
  if (results.length > 0 && results.every((r) => r instanceof ConnectionError)) throw results[0]!;
  return results;
}

async function publishOne(nc: NatsConnection, names: NatsNames, m: OutgoingMessage, timeoutMs: number, limit: number): Promise<PublishResult> {
  const direct = m.group !== undefined;
  const headers = toNatsHeaders(m.wire.headers, m.id, direct ? m.topic : undefined);
  const size = m.wire.body.byteLength + headerBytes(headers);
  if (size > limit) return new MessageTooLargeError(`nats: message ${m.id} is ${size} bytes, over the limit of ${limit} (the server's max_payload caps it)`);
  const subject = direct ? names.groupSubject(m.group!) : names.topicSubject(m.topic);
  try {
    const reply = await nc.request(subject, m.wire.body, { headers, timeout: timeoutMs });
    const ack = reply.json<PubAck>();
    if (ack.error !== undefined) return new TransientError(`nats: the stream refused message ${m.id}: ${ack.error.description} (${ack.error.err_code ?? ack.error.code})`);
    return undefined;
  } catch (err) {
    if (err instanceof RequestError && err.isNoResponders()) {
      return new UnroutableError(direct ? `nats: no group ${JSON.stringify(m.group)} is bound (no stream for it)` : `nats: no group is bound to topic ${JSON.stringify(m.topic)} (no stream captures it)`, { cause: err });
    }
    if (err instanceof TimeoutError) return new PublishTimeoutError(`nats: no PubAck for message ${m.id} within ${timeoutMs} ms (it may be stored; a retry with the same id is removed as a duplicate)`, { cause: err });
    if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
      return new ConnectionError("nats: the connection closed while publishing", { cause: err });
    }
    return new ConnectionError(`nats: publishing message ${m.id} failed`, { cause: err });
  }
}

/**
 * Dead-lettering one delivery: into the database dead-letter store when the
 * bus has one (the row committed, then the ack: database-dead-letters.ts),
 * else natively when the transport has a dead-letter store (one atomic
 * move), otherwise by publishing the message, diagnostics included, to the
 * group's dead-letter topic with a confirm and then acking it (ADR 001).
 * Either way the original body and headers are kept.
 */
import { hasNativeDeadLetters } from "../transport/abilities.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import { deadLetterTopic, type Delivery, type Transport } from "../transport/transport.js";
import { uuidv7 } from "../envelope/uuidv7.js";
import { messageIdOf } from "./database-dead-letters.js";
import { deadLetterHeaders } from "./diagnostics.js";

export interface DeadLetterRequest {
  readonly error: unknown;
  readonly reason: string;
  readonly attempts: number;
  readonly firstFailureAt: number;
  readonly group: string;
}

/** Resolves with the diagnostics written; rejects when the dead letter was not stored (the message then comes back). */
export async function deadLetterDelivery(
  transport: Transport,
  delivery: Delivery,
  request: DeadLetterRequest,
  database?: DeadLetterDatabase,
): Promise<Record<string, string>> {
  const failedAt = Date.now();
  const headers = deadLetterHeaders(delivery.wire.headers, {
    error: request.error,
    reason: request.reason,
    attempts: request.attempts,
    firstFailureAt: request.firstFailureAt,
    failedAt,
    topic: delivery.topic,
    group: request.group,
  });
  // A configured database store wins over a native one: the operators chose where dead letters live.
  if (database) {
    const wire = { headers, body: delivery.wire.body };
    await database.add({ group: request.group, topic: delivery.topic, messageId: messageIdOf(delivery.wire), key: delivery.key, wire, deadLetteredAt: failedAt });
    await delivery.ack();
    return headers;
  }
  if (hasNativeDeadLetters(transport)) {
    await delivery.deadLetter(headers);
    return headers;
  }
  const topic = deadLetterTopic(request.group);
  // Structured mode carries the id in the body: the dead letter gets an id of its own, unique even within one millisecond.
  const id = headers["ce-id"] ?? `dlq-${uuidv7()}`;
  const [result] = await transport.publish([{ topic, id, key: delivery.key, wire: { headers, body: delivery.wire.body }, group: topic }]);
  if (result) throw result;
  await delivery.ack();
  return headers;
}

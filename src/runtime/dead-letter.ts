/**
 * Dead-lettering one delivery: natively when the transport has a dead-letter
 * store (one atomic move), otherwise by publishing the message, diagnostics
 * included, to the group's dead-letter topic with a confirm and then acking
 * it (ADR 001). Either way the original body and headers are kept.
 */
import { hasNativeDeadLetters } from "../transport/abilities.js";
import { deadLetterTopic, type Delivery, type Transport } from "../transport/transport.js";
import { deadLetterHeaders } from "./diagnostics.js";

export interface DeadLetterRequest {
  readonly error: unknown;
  readonly reason: string;
  readonly attempts: number;
  readonly firstFailureAt: number;
  readonly group: string;
}

/** Resolves with the diagnostics written; rejects when the dead letter was not stored (the message then comes back). */
export async function deadLetterDelivery(transport: Transport, delivery: Delivery, request: DeadLetterRequest): Promise<Record<string, string>> {
  const headers = deadLetterHeaders(delivery.wire.headers, {
    error: request.error,
    reason: request.reason,
    attempts: request.attempts,
    firstFailureAt: request.firstFailureAt,
    failedAt: Date.now(),
    topic: delivery.topic,
    group: request.group,
  });
  if (hasNativeDeadLetters(transport)) {
    await delivery.deadLetter(headers);
    return headers;
  }
  const topic = deadLetterTopic(request.group);
  const id = headers["ce-id"] ?? `dlq-${Date.now()}`;
  const [result] = await transport.publish([{ topic, id, key: delivery.key, wire: { headers, body: delivery.wire.body }, group: topic }]);
  if (result) throw result;
  await delivery.ack();
  return headers;
}



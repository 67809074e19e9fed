/**
 * A message of a dead-letter queue as a DeadLetter. missive's own entries
 * carry private headers (delivery.ts, DlqHeaders); an entry put there by a
 * plain client has none, and falls back field by field:
 *
 * - entryId: x-missive-dlq-entry (a UUIDv7), else the AMQP message-id, else
 *   ce-id, else `h:` + a hash of its headers and body (stable across scans,
 *   but equal for identical messages: such twins share an id and are acted
 *   on together);
 * - group: x-missive-dlq-group, else the queue's group; topic:
 *   x-missive-dlq-topic, else ce-type, else "";
 * - deadLetteredAt: x-missive-dlq-at, else the AMQP timestamp, else 0.
 */
import { createHash } from "node:crypto";
import type { Message } from "amqplib";
import type { DeadLetter } from "../../transport/transport.js";
import { fromAmqpMessage } from "./amqp-headers.js";
import { DlqHeaders } from "./delivery.js";

export function deadLetterOf(message: Message, queueGroup: string): DeadLetter {
  const raw = (message.properties.headers ?? {}) as Record<string, unknown>;
  // Headers moved into the body to fit the entry's header table come back here: the entry as it was kept.
  const { headers, body } = fromAmqpMessage(message);
  const amqpId = text(message.properties.messageId);
  const messageId = headers["ce-id"] ?? amqpId ?? "";
  const at = Number(text(raw[DlqHeaders.at]));
  const timestamp = Number(message.properties.timestamp);
  return {
    entryId: text(raw[DlqHeaders.entry]) ?? amqpId ?? headers["ce-id"] ?? hashId(headers, body),
    messageId,
    group: text(raw[DlqHeaders.group]) ?? queueGroup,
    topic: text(raw[DlqHeaders.topic]) ?? headers["ce-type"] ?? "",
    key: headers["ce-key"],
    wire: { headers, body },
    deadLetteredAt: Number.isFinite(at) && at > 0 ? at : Number.isFinite(timestamp) && timestamp > 0 ? timestamp * 1000 : 0,
  };
}

/** A non-empty string header or property, else undefined (numbers are taken as their text). */
function text(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (Buffer.isBuffer(value)) return value.byteLength === 0 ? undefined : value.toString("utf8");
  return undefined;
}

function hashId(headers: Readonly<Record<string, string>>, content: Uint8Array): string {
  const hash = createHash("sha256");
  for (const name of Object.keys(headers).sort()) hash.update(`${name}\u0000${headers[name]!}\u0000`);
  hash.update(content);
  return "h:" + hash.digest("hex").slice(0, 32);
}

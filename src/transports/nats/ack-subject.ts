/**
 * What JetStream says about a delivery in its ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`
 * (9 tokens, servers before 2.9 and most 2.9 setups) or, with a domain
 * and account hash, `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.…` (12).
 */
export interface AckInfo {
  readonly stream: string;
  readonly consumer: string;
  /** num_delivered: every delivery of this message to the consumer. */
  readonly deliveries: number;
  readonly streamSeq: number;
  /** Unix ms the message was stored. */
  readonly storedAt: number;
}

export function parseAckSubject(subject: string): AckInfo | undefined {
  const t = subject.split(".");
  if (t[0] !== "$JS" || t[1] !== "ACK") return undefined;
  const at = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (at < 0) return undefined;
  const stream = t[at];
  const consumer = t[at + 1];
  if (stream === undefined || consumer === undefined) return undefined;
  return {
    stream,
    consumer,
    deliveries: Number(t[at + 2]),
    streamSeq: Number(t[at + 3]),
    // A double holds nanoseconds since 1970 to within a microsecond: exact enough for milliseconds, and no BigInt per message.
    storedAt: Math.floor(Number(t[at + 5] ?? "0") / 1_000_000),
  };
}

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

const PREFIX = "$JS.ACK.";
const DOT = 0x2e;

/**
 * Read in one pass over its characters, not split(): this runs for every delivery, and a split makes an array and
 * nine or twelve strings where only the stream and consumer names are kept as strings.
 */
export function parseAckSubject(subject: string): AckInfo | undefined {
  if (!subject.startsWith(PREFIX)) return undefined;
  let dots = 0;
  for (let i = PREFIX.length; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c === DOT) dots++;
    // A blank or control character is in no subject the server makes: such a reply is not an ack subject. The acks
    // go to the client as raw PUB lines (ack-flusher.ts), where a blank would break the frame.
    else if (c <= 0x20 || c === 0x7f) return undefined;
  }
  // Tokens after the prefix: 7 (no domain), or 9 and more (domain and account hash first).
  const skip = dots === 6 ? 2 : dots >= 8 ? 4 : -1;
  if (skip < 0) return undefined;
  let stream = "";
  let consumer = "";
  let deliveries = 0;
  let streamSeq = 0;
  let storedAt = 0;
  for (let token = 2, start = PREFIX.length, i = start; i <= subject.length; i++) {
    if (i < subject.length && subject.charCodeAt(i) !== DOT) continue;
    const at = token - skip;
    if (at === 0) stream = subject.slice(start, i);
    else if (at === 1) consumer = subject.slice(start, i);
    else if (at === 2) deliveries = digits(subject, start, i);
    else if (at === 3) streamSeq = digits(subject, start, i);
    else if (at === 5) {
      // Nanoseconds since 1970 to milliseconds: all digits but the last six, an integer a double holds exactly.
      storedAt = i - start > 6 ? digits(subject, start, i - 6) : Math.floor(digits(subject, start, i) / 1_000_000);
      break;
    }
    token++;
    start = i + 1;
  }
  return { stream, consumer, deliveries, streamSeq, storedAt };
}

/** The decimal number in `s` from `start` to `end` (0 when empty, NaN with anything but digits), as Number() reads the server's. */
function digits(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

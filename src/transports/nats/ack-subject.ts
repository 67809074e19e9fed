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

/** Where the dots of a subject are, by the one pass that reads it: only the first dozen are ever used. */
const dotsAt = new Int32Array(12);

/**
 * Read in one pass over its characters, not split(): this runs for every delivery, and a split makes an array and
 * nine or twelve strings where only the stream and consumer names are kept as strings. The pass checks every
 * character and notes where the dots are, so the tokens are then cut out without a second walk.
 */
export function parseAckSubject(subject: string): AckInfo | undefined {
  if (!subject.startsWith(PREFIX)) return undefined;
  let dots = 0;
  for (let i = PREFIX.length; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c === DOT) {
      if (dots < dotsAt.length) dotsAt[dots] = i;
      dots++;
    }
    // A blank or control character is in no subject the server makes: such a reply is not an ack subject. The acks
    // go to the client as raw PUB lines (ack-flusher.ts), where a blank would break the frame.
    else if (c <= 0x20 || c === 0x7f) return undefined;
  }
  // Tokens after the prefix: 7 (no domain), or 9 and more (domain and account hash first, then the same 7).
  const first = dots === 6 ? 0 : dots >= 8 ? 2 : -1;
  if (first < 0) return undefined;
  const stream = subject.slice(tokenStart(first), dotsAt[first]);
  const consumer = subject.slice(tokenStart(first + 1), dotsAt[first + 1]);
  const deliveries = digits(subject, tokenStart(first + 2), dotsAt[first + 2]!);
  const streamSeq = digits(subject, tokenStart(first + 3), dotsAt[first + 3]!);
  // Nanoseconds since 1970 to milliseconds: all digits but the last six, an integer a double holds exactly. The
  // pending count follows it, so it ends at a dot in both forms.
  const start = tokenStart(first + 5);
  const end = dotsAt[first + 5]!;
  const storedAt = end - start > 6 ? digits(subject, start, end - 6) : Math.floor(digits(subject, start, end) / 1_000_000);
  return { stream, consumer, deliveries, streamSeq, storedAt };
}

/** Where token `n` after the prefix starts: just past dot n - 1 of the last parseAckSubject, or the prefix's end. */
function tokenStart(n: number): number {
  return n === 0 ? PREFIX.length : dotsAt[n - 1]! + 1;
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

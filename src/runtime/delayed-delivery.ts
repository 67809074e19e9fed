/**
 * A delivery as the delay fill hands it to the runtime: the not-before header
 * removed (it was the fill's, between publisher and subscriber; dead letters,
 * retries and replays never carry a stale one), its attempt counted across
 * republished retries, and `retry` filled in (ADR 008): a copy of the message
 * with a new not-before is published to the delivery's group with a confirm,
 * then the delivery is acked. At-least-once: a crash between the two leaves
 * both, and the inbox removes the second handling.
 */
import { emptyHeaders, type WireMessage } from "../envelope/wire.js";
import type { Delivery, Transport } from "../transport/transport.js";
import { messageIdOf } from "./database-dead-letters.js";
import { NOT_BEFORE_HEADER } from "./delay-support.js";
import { readRetryState } from "./diagnostics.js";

export class DelayedDelivery implements Delivery {
  readonly topic: string;
  readonly group: string;
  readonly key: string | undefined;
  readonly wire: WireMessage;
  readonly attempt: number;
  /** Settled (or settling) through this wrapper: a retry after that must not publish a copy. */
  private settling = false;

  constructor(
    private readonly inner: Delivery,
    /** The transport the fill wraps: the retry's copy goes straight to it, its due time already written. */
    private readonly transport: Transport,
  ) {
    this.topic = inner.topic;
    this.group = inner.group;
    this.key = inner.key;
    this.wire = inner.wire.headers[NOT_BEFORE_HEADER] === undefined ? inner.wire : { headers: withoutNotBefore(inner.wire.headers), body: inner.wire.body };
    // The broker counts deliveries of this copy only; the attempts header counts the copies before it.
    this.attempt = inner.attempt === 0 ? 0 : inner.attempt + readRetryState(this.wire.headers).attempts;
  }

  /** Passed on: the transport may refuse a delivery it lost, or count the handler start (Redis's attempts). */
  start(): boolean {
    return this.inner.start?.() ?? true;
  }

  ack(): Promise<void> {
    this.settling = true;
    return this.inner.ack();
  }

  deadLetter(headers: Readonly<Record<string, string>>): Promise<void> {
    this.settling = true;
    return this.inner.deadLetter(headers);
  }

  release(): Promise<void> {
    this.settling = true;
    return this.inner.release();
  }

  async retry(delayMs: number, headers: Readonly<Record<string, string>>): Promise<void> {
    // Settling twice is a no-op (the seam's contract): a second copy would be a second message.
    if (this.settling) return;
    this.settling = true;
    try {
      const [failure] = await this.transport.publish([{
        topic: this.topic,
        id: messageIdOf(this.wire),
        key: this.key,
        wire: { headers: withNotBefore(headers, delayMs), body: this.wire.body },
        group: this.group,
      }]);
      if (failure) throw failure;
    } catch (err) {
      // No copy was confirmed, so this is still unsettled: the lease brings it back, or the runtime settles it otherwise.
      this.settling = false;
      throw err;
    }
    await this.inner.ack();
  }
}

/** `headers` plus the due time `delayMs` from now (none when there is no delay). */
export function withNotBefore(headers: Readonly<Record<string, string>>, delayMs: number): Record<string, string> {
  const out = withoutNotBefore(headers);
  if (delayMs > 0) out[NOT_BEFORE_HEADER] = String(Date.now() + Math.ceil(delayMs));
  return out;
}

function withoutNotBefore(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out = emptyHeaders();
  for (const name in headers) if (name !== NOT_BEFORE_HEADER) out[name] = headers[name]!;
  return out;
}

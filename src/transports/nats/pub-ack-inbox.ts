/**
 * PubAcks without the client's request machinery: one inbox subscription
 * for the transport's publishes, a waiter per outstanding message in a map
 * by a counter, and one timer for the oldest deadline.
 *
 * `nc.request` costs, per publish: a request object, two promises (its
 * deferred and its timeout), a timer set and cleared, and, once answered,
 * a `RequestError("cancelled")` built (stack trace taken) to reject a
 * promise that is already resolved. That error alone was 15% of the CPU of
 * publish→handler at 2,000 msg/s in a CPU profile of the bench case; here
 * an answered publish costs a map look-up and one resolve.
 *
 * Every waiter has the same timeout and the map iterates in the order they
 * were added, so the oldest is first: one timer, armed for the oldest
 * deadline and left armed when its waiter is answered (it then looks again
 * and re-arms), instead of a timer set and cleared per publish.
 *
 * Outcomes are the client's, so the publisher maps them as before: the
 * reply message; `RequestError` whose `isNoResponders()` is true when the
 * server answers that nothing listens on the subject (status 503);
 * `TimeoutError` when no answer came in time; `ClosedConnectionError` for
 * the waiters left when the connection closes.
 */
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/nats-core";
import { ClosedConnectionError, createInbox, NoRespondersError, RequestError, TimeoutError } from "@nats-io/nats-core";

interface Waiter {
  readonly resolve: (reply: Msg) => void;
  readonly reject: (err: unknown) => void;
  readonly subject: string;
  readonly deadline: number;
}

/** The server's status code for a request no subscriber took. */
const NO_RESPONDERS = 503;

export class PubAckInbox {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<number, Waiter>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.onReply(err, msg) });
    // Closed with the connection (or drained): what still waits can no longer be answered.
    const closed = (err: unknown): void => {
      this.closed = true;
      this.failAll(err);
    };
    void this.sub.closed.then(() => closed(new ClosedConnectionError()), closed);
  }

  /**
   * Publish `body` to `subject` with the reply going to this inbox; resolves with the reply. Throws synchronously
   * what the client's publish throws (a closed or draining connection).
   */
  request(subject: string, body: Uint8Array, headers: MsgHdrs): Promise<Msg> {
    if (this.closed) return Promise.reject(new ClosedConnectionError());
    const token = ++this.next;
    this.nc.publish(subject, body, { headers, reply: `${this.prefix}${token}` });
    return new Promise<Msg>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, subject, deadline: Date.now() + this.timeoutMs });
      this.timer ??= setTimeout(this.expire, this.timeoutMs);
    });
  }

  private onReply(err: Error | null, msg: Msg): void {
    if (err !== null) {
      // The inbox failed (a permission the account lacks): what waits now will not be answered.
      this.failAll(new RequestError(err.message, { cause: err }));
      return;
    }
    const token = Number(msg.subject.slice(this.prefix.length));
    const waiter = this.waiting.get(token);
    if (waiter === undefined) return; // answered after its timeout: the publisher already reported it unconfirmed
    this.waiting.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === NO_RESPONDERS) {
      waiter.reject(new RequestError("no responders", { cause: new NoRespondersError(waiter.subject) }));
    } else {
      waiter.resolve(msg);
    }
  }

  /** Time out every waiter past its deadline (the oldest first), then wait for the next oldest. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const [token, waiter] of this.waiting) {
      if (waiter.deadline > now) {
        this.timer = setTimeout(this.expire, waiter.deadline - now);
        return;
      }
      this.waiting.delete(token);
      waiter.reject(new TimeoutError());
    }
  };

  private failAll(err: unknown): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.reject(err);
  }
}

/**
 * What one subscription remembers of the messages it handed out recently,
 * so a redelivery after its own connection or channel was lost is counted
 * from memory: only deliveries whose handler started are attempts
 * (docs/contract.md §5). A quorum queue's x-delivery-count rises by one for
 * every return, handler started or not; a reset hands back every prefetched
 * message, so without this each reset used up an attempt of each of them.
 *
 * A redelivery whose previous delivery (broker count one lower, same retry
 * copy) is remembered here needs no read of the release ledger: nobody else
 * can have had the message in between. Anything else (a message another
 * process gave back, or one older than the memory) is left to the ledger.
 * Classic queues only say "redelivered" (no count), so there is no chain to
 * follow: they always go to the ledger.
 *
 * One return memory cannot see: messages the broker pushed to a channel that
 * died before they arrived (in the socket, or the frames amqplib drops for a
 * closed channel). There can be at most prefetch minus what the channel held
 * unsettled; that many later redeliveries that memory cannot explain are
 * taken to be those, one return each not counted. Were another process's
 * lost delivery taken for one of ours, that message would get one attempt
 * more than its budget, never one less.
 */

/** One delivery handed out (or pushed and never handed out) on a channel of this subscription. */
interface Handed {
  /** Attempts carried on the retry copy (the attempts header): tells copies of one id apart. */
  readonly carried: number;
  /** The broker's count of earlier returns of this copy (x-delivery-count). */
  readonly returns: number;
  /** Deliveries before this one that were attempts. */
  readonly prior: number;
  /** The runtime started its handler: the next delivery counts this one. */
  started: boolean;
}

export class DeliveryHistory {
  /** By message id, oldest first (a Map keeps insertion order; a new delivery moves its id to the end). */
  private readonly byId = new Map<string, Handed>();

  /** Pushes to lost channels that never arrived, not yet matched with their redelivery. */
  private unseen = 0;

  /** `capacity`: ids remembered; enough for everything a channel can hold when it dies, many times over. */
  constructor(private readonly capacity: number) {}

  /**
   * Attempts before this delivery, when memory can tell: a fresh copy (no
   * returns) has exactly its carried attempts; a redelivery whose previous
   * delivery is remembered has that one's, plus one if its handler started.
   * `returns` undefined: the broker gave no count (classic queue).
   */
  priorOf(id: string, carried: number, returns: number | undefined): number | undefined {
    if (returns === 0) return carried;
    if (returns === undefined) return undefined;
    const last = this.byId.get(id);
    if (last === undefined || last.carried !== carried || last.returns !== returns - 1) return undefined;
    return last.prior + (last.started ? 1 : 0);
  }

  /** A delivery of `id` with `prior` earlier attempts is out (handed to the runtime, or pushed and lost unhandled). */
  handed(id: string, carried: number, returns: number | undefined, prior: number): void {
    if (returns === undefined || id === "") return;
    this.byId.delete(id);
    this.byId.set(id, { carried, returns, prior, started: false });
    if (this.byId.size > this.capacity) {
      const oldest = this.byId.keys().next();
      if (oldest.done !== true) this.byId.delete(oldest.value);
    }
  }

  /** A channel died with at most `unseen` pushes on their way (prefetch minus what it held unsettled). */
  channelLost(unseen: number): void {
    this.unseen = Math.max(this.unseen, unseen);
  }

  /** A counted redelivery memory cannot explain: true when it may be a push lost on its way (one return to leave uncounted). */
  takeUnseen(): boolean {
    if (this.unseen <= 0) return false;
    this.unseen--;
    return true;
  }

  /** The handler of the delivery of `id` with `prior` earlier attempts started. */
  started(id: string, prior: number): void {
    const last = this.byId.get(id);
    if (last !== undefined && last.prior === prior) last.started = true;
  }
}

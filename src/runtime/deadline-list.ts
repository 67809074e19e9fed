/**
 * Deadlines that all lie the same `ms` after they were added, so they fall
 * due in the order they were added: the earliest is always the oldest entry
 * still in the list. Kept as an intrusive doubly linked list (the entries
 * carry the links: adding at the tail and taking out anywhere are O(1) and
 * allocate nothing) with ONE timer, armed for the head's deadline. When it
 * fires, every head whose deadline passed is taken out and expired, and the
 * timer is armed again for the next head. An entry taken out early (its work
 * settled) leaves the timer as it is: the timer can then only fire early,
 * never late, and firing early just arms it again. A timer per entry would
 * cost a setTimeout, a clearTimeout and a timer object on every entry.
 *
 * The timer is unref'd: pending deadlines never keep the process alive.
 */

/** What the list links: the entry object itself carries its place in the list. */
export interface DeadlineEntry {
  /** When it falls due, on the list's clock: set by `add`. */
  deadline: number;
  /** The list's links: read and written by the list only. */
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  inList: boolean;
  /** Its deadline passed while it was in the list. Called once, after it was taken out. */
  expire(): void;
}

/** Longest delay setTimeout takes as it is (a longer one fires after 1 ms); a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DeadlineList {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `now` is a monotonic clock in ms (default performance.now): a wall clock stepping back would break the order. */
  constructor(
    private readonly ms: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Entries in the list now. */
  get size(): number {
    return this.count;
  }

  /** Add `entry` at the tail, due `ms` from now. */
  add(entry: DeadlineEntry): void {
    entry.deadline = this.now() + this.ms;
    entry.previous = this.tail;
    entry.next = undefined;
    entry.inList = true;
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    this.count++;
    // An armed timer is due no later than this deadline (deadlines only grow): it arms again when it fires.
    if (this.timer === undefined) this.arm(entry.deadline);
  }

  /** Take `entry` out (its work settled); nothing when it is not in the list. Its links are cleared, so it holds no other entry. */
  remove(entry: DeadlineEntry): void {
    if (!entry.inList) return;
    const { previous, next } = entry;
    if (previous === undefined) this.head = next;
    else previous.next = next;
    if (next === undefined) this.tail = previous;
    else next.previous = previous;
    entry.previous = undefined;
    entry.next = undefined;
    entry.inList = false;
    this.count--;
  }

  private arm(deadline: number): void {
    const delay = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(deadline - this.now())));
    this.timer = setTimeout(this.fire, delay);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.now();
    try {
      for (let head = this.head; head !== undefined && head.deadline <= now; head = this.head) {
        this.remove(head);
        head.expire();
      }
    } finally {
      // Armed again even if an expiry threw, so the later deadlines still fall due.
      if (this.head !== undefined) this.arm(this.head.deadline);
    }
  };
}

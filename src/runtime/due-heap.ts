/**
 * A min-heap of items by due time, ties in insertion order: the delay fill's
 * held deliveries, handed out earliest due first. O(log n) push and pop; the
 * fill holds at most a subscription's prefetch, so n stays small.
 */
interface Entry<T> {
  readonly dueAt: number;
  readonly seq: number;
  readonly item: T;
}

export class DueHeap<T> {
  private readonly entries: Array<Entry<T>> = [];
  private seq = 0;

  get size(): number {
    return this.entries.length;
  }

  /** When the earliest item is due; Infinity when empty. */
  nextDueAt(): number {
    return this.entries[0]?.dueAt ?? Number.POSITIVE_INFINITY;
  }

  push(dueAt: number, item: T): void {
    const entries = this.entries;
    entries.push({ dueAt, seq: this.seq++, item });
    let i = entries.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest item if it is due at `now`, else undefined. */
  popDue(now: number): T | undefined {
    const entries = this.entries;
    const top = entries[0];
    if (top === undefined || top.dueAt > now) return undefined;
    const last = entries.pop()!;
    if (entries.length > 0) {
      entries[0] = last;
      this.sink(0);
    }
    return top.item;
  }

  /** Empty the heap, returning every item (in no particular order). */
  drain(): T[] {
    return this.entries.splice(0).map((e) => e.item);
  }

  private sink(i: number): void {
    const n = this.entries.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && this.before(left, least)) least = left;
      if (right < n && this.before(right, least)) least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.entries[a]!;
    const y = this.entries[b]!;
    return x.dueAt < y.dueAt || (x.dueAt === y.dueAt && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const entries = this.entries;
    const t = entries[a]!;
    entries[a] = entries[b]!;
    entries[b] = t;
  }
}

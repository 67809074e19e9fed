/**
 * Stale keys, for ordered consumers on a broker that does not keep key order
 * itself (`ordering: "none"`): when a delivery of a key loses its lease, the
 * broker hands that message out again, so the later messages of the key this
 * consumer already holds must not run before it. Those are given back
 * (deliveries received afterwards run normally), and the key is clean again
 * once this consumer holds none of it.
 */
export class StaleKeys {
  private readonly heldByKey = new Map<string, number>();
  /** Key → the receipt number of the last delivery held when it went stale. */
  private readonly stale = new Map<string, number>();
  /** Deliveries received so far: orders "held before the lease loss" against "received after". */
  private received = 0;

  /** A delivery of `key` is held; resolves to its receipt number. */
  hold(key: string): number {
    this.heldByKey.set(key, (this.heldByKey.get(key) ?? 0) + 1);
    return ++this.received;
  }

  /** A delivery of `key` is no longer held. */
  release(key: string): void {
    const n = (this.heldByKey.get(key) ?? 1) - 1;
    if (n > 0) {
      this.heldByKey.set(key, n);
      return;
    }
    this.heldByKey.delete(key);
    this.stale.delete(key);
  }

  markStale(key: string): void {
    this.stale.set(key, this.received);
  }

  /** Whether the delivery received as `receipt` was held when its key went stale: give it back. */
  isStale(key: string, receipt: number): boolean {
    const upTo = this.stale.get(key);
    return upTo !== undefined && receipt <= upTo;
  }
}

/**
 * Releases: deliveries given back unhandled (a consumer closing with
 * messages it never started). RabbitMQ counts every return in a quorum
 * queue's x-delivery-count, so without a record of releases a graceful
 * restart would use up an attempt of every prefetched message.
 */
export interface ReleaseLedger {
  /** Record, before the message goes back, that its delivery number `prior + 1` was not an attempt. */
  noteRelease(group: string, messageId: string, prior: number): Promise<void>;
  /**
   * How many of deliveries number `from + 1` … `upTo` of (group, message) were releases, counting every
   * release recorded before `since` (unix ms; default now): reads with the same `since` share one sync.
   */
  releasesOf(group: string, messageId: string, from: number, upTo: number, since?: number): Promise<number>;
  close(): Promise<void>;
}

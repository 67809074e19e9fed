/** What a Redis subscription reads and how: the streams of its group, and its settings (subscription.ts). */

/** One stream the group reads. */
export interface StreamSource {
  readonly stream: string;
  /** The topic of a topic stream; undefined for the group's own stream (the topic is in `:topic`). */
  readonly topic: string | undefined;
}

export interface SubscriptionSettings {
  readonly group: string;
  readonly consumer: string;
  readonly prefetch: number;
  readonly leaseMs: number;
  readonly trimIntervalMs: number;
  /** How long a read may take past its BLOCK before the reader is taken for dead and reconnected, ms. */
  readonly readGraceMs: number;
  /** Key order across the group's consumers (key-heads.ts). */
  readonly ordered: boolean;
  /** Prefix of the group's key lists. */
  readonly keyLists: string;
  /** The group's hash of handler starts per entry. */
  readonly starts: string;
}

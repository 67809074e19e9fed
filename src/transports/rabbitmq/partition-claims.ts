/**
 * Taking free partitions of an ordered group up to a member's share
 * (ordered-subscription.ts), a few at a time and never more than the share
 * still missing: after a broker restart each claim (a channel, the lock
 * queue, a consumer) can take a second, and one by one a whole share took
 * many. It starts at a random partition, so members joining together do not
 * all race for the same ones.
 */
import type { Logger } from "../../observability/logger.js";
import { PartitionSource } from "./partition-source.js";

/** Partitions claimed in parallel. */
const CLAIMS_AT_ONCE = 4;

export interface ClaimingMember {
  readonly group: string;
  readonly partitions: number;
  /** Partitions owned by subscriptions of this process (`group\0index`): the lock is per connection, so it cannot tell them apart. */
  readonly claims: Set<string>;
  /** Partitions this member consumes now, by index. */
  readonly owned: ReadonlyMap<number, PartitionSource>;
  readonly log: Logger;
  /** Consume partition `index` with its lock; "locked" when another connection holds it, undefined when closed meanwhile. */
  open(index: number): Promise<PartitionSource | "locked" | undefined>;
  /** Whether to go on claiming (not closed, and no lock backoff under way). */
  mayClaim(): boolean;
}

/** Claim free partitions until the member owns `share`; the partitions whose locks another connection holds. */
export async function claimShare(member: ClaimingMember, share: number): Promise<number[]> {
  const { group, partitions: n, claims, owned } = member;
  const first = Math.floor(Math.random() * n);
  const candidates = Array.from({ length: n }, (_, k) => (first + k) % n);
  const refused: number[] = [];
  while (candidates.length > 0 && owned.size < share && member.mayClaim()) {
    const wave = candidates.splice(0, Math.min(CLAIMS_AT_ONCE, share - owned.size));
    await Promise.all(wave.map(async (index) => {
      const claim = `${group}\u0000${index}`;
      if (owned.has(index) || claims.has(claim)) return;
      claims.add(claim);
      const source = await member.open(index).catch((err: unknown) => {
        member.log.warn({ err, group, partition: index }, "claiming a partition failed");
        return undefined;
      });
      if (source === "locked") refused.push(index);
      if (!(source instanceof PartitionSource)) claims.delete(claim);
    }));
  }
  return refused;
}

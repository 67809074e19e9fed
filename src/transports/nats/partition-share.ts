/**
 * An ordered group's fair share of partitions (ADR 012), the rule
 * RabbitMQ's ordered subscription follows too (rabbitmq/ordered-subscription.ts,
 * rabbitmq/partition-claims.ts): each of `members` owns at most
 * ceil(partitions / members); one above it gives its surplus back, one below
 * claims free partitions up to it, looking from a random partition on so
 * members joining together do not all race for the same ones.
 */

/** The most partitions one member owns. */
export function shareOf(partitions: number, members: number): number {
  return Math.ceil(partitions / Math.max(1, members));
}

/**
 * Which of the partitions a member owns (and is not giving back already) to give back so that it keeps `share`: the
 * ones holding the fewest deliveries first, since a give-back waits until what it holds is settled; the highest index
 * on a tie, so a member gives back the same ones whichever round decides it.
 */
export function surplusOf(active: readonly number[], share: number, holding: (index: number) => number): number[] {
  if (active.length <= share) return [];
  const by = new Map(active.map((i) => [i, holding(i)]));
  return [...active].sort((a, b) => by.get(a)! - by.get(b)! || b - a).slice(0, active.length - Math.max(0, share));
}

/** The partitions not owned, from `start` on and around: the order claims look at them in. */
export function claimOrder(partitions: number, owned: { has(index: number): boolean }, start: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < partitions; k++) {
    const i = (start + k) % partitions;
    if (!owned.has(i)) out.push(i);
  }
  return out;
}

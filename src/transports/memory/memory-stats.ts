/** Per-group queue statistics of a memory broker, in the seam's QueueStats shape. */
import type { QueueStats } from "../../transport/transport.js";
import type { BrokerState } from "./broker-state.js";

export function queueStats(state: BrokerState, withDeadLetters: boolean): QueueStats[] {
  const now = state.now();
  const deadLetters = new Map<string, number>();
  for (const entry of state.deadLetters.values()) deadLetters.set(entry.group, (deadLetters.get(entry.group) ?? 0) + 1);
  const out: QueueStats[] = [];
  for (const [name, group] of state.groups) {
    let inFlight = 0;
    let delayed = 0;
    let oldest = Infinity;
    for (const row of group.all()) {
      oldest = Math.min(oldest, row.enqueuedAt);
      // A row whose lease ran out is deliverable again: ready, not delayed.
      if (row.lease !== undefined && row.lease.isLive(now)) inFlight++;
      else if (row.lease === undefined && row.visibleAt > now) delayed++;
    }
    out.push({
      group: name,
      topics: [...group.topics].sort(),
      depth: group.depth,
      ready: group.depth - inFlight - delayed,
      inFlight,
      delayed,
      oldestAgeMs: oldest === Infinity ? undefined : Math.max(0, now - oldest),
      deadLetters: withDeadLetters ? (deadLetters.get(name) ?? 0) : undefined,
      consumers: group.activeSubscriptions,
      temporary: group.temporary,
    });
  }
  return out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

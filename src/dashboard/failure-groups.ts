/**
 * Dead letters grouped by failure signature (signature.ts), each group with
 * its count, first and last seen, and one example message. The store's own
 * summary cannot group by a normalised message, so the entries are read
 * (page by page, bounded by `budget`): a store larger than the budget is
 * reported as `truncated`, never silently undercounted.
 */
import type { DeadLetterAdmin } from "../runtime/dead-letter-admin.js";
import { scan, type Selector } from "./selection.js";
import { signatureKey, signatureOf, type FailureSignature } from "./signature.js";

export interface FailureGroup extends FailureSignature {
  /** The key to address the group by (`signature=` in the API). */
  readonly key: string;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The error message of the group's newest entry, as it was. */
  readonly example: string;
  /** The consumer groups its entries came from. */
  readonly groups: readonly string[];
  /** Entries dead-lettered in the last 5 minutes and the last hour: a burst reads as an incident, a steady trickle does not. */
  readonly recent: { readonly "5m": number; readonly "1h": number };
}

export interface FailureGroups {
  readonly groups: FailureGroup[];
  /** Entries read. */
  readonly scanned: number;
  /** The budget ran out before the store did: counts are of the first `scanned` entries only. */
  readonly truncated: boolean;
}

/** Entries read at most for one grouping, by default. */
export const DEFAULT_GROUP_BUDGET = 100_000;

export async function failureGroups(admin: DeadLetterAdmin, selector: Selector, budget = DEFAULT_GROUP_BUDGET, now = Date.now()): Promise<FailureGroups> {
  const byKey = new Map<string, { signature: FailureSignature; count: number; first: number; last: number; example: string; groups: Set<string>; m5: number; h1: number }>();
  let scanned = 0;
  let truncated = false;
  for await (const page of scan(admin, selector, { budget })) {
    scanned = page.read;
    truncated = page.truncated;
    for (const entry of page.matches) {
      const signature = signatureOf(entry);
      const key = signatureKey(signature);
      let g = byKey.get(key);
      if (g === undefined) {
        g = { signature, count: 0, first: Infinity, last: -Infinity, example: "", groups: new Set(), m5: 0, h1: 0 };
        byKey.set(key, g);
      }
      const at = entry.deadLetteredAt;
      g.count++;
      g.first = Math.min(g.first, at);
      if (at >= g.last) {
        g.last = at;
        g.example = entry.diagnostics.errorMessage ?? "";
      }
      g.groups.add(entry.group);
      if (now - at <= 5 * 60_000) g.m5++;
      if (now - at <= 60 * 60_000) g.h1++;
    }
  }
  const groups = [...byKey.entries()].map(([key, g]) => ({
    ...g.signature, key, count: g.count, firstSeen: g.first, lastSeen: g.last, example: g.example, groups: [...g.groups].sort(), recent: { "5m": g.m5, "1h": g.h1 },
  }));
  groups.sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen || (a.key < b.key ? -1 : 1));
  return { groups, scanned, truncated };
}

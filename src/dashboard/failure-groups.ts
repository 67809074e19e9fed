/**
 * Dead letters grouped by failure signature (signature.ts), each group with
 * its count, first and last seen, and one example message. A store that
 * keeps a failure-group index (SQLite) answers from it when the filters are
 * ones it can apply (type, error, consumer group); otherwise the entries are
 * read (page by page, bounded by `budget`): a store larger than the budget
 * is reported as `truncated`, never silently undercounted.
 */
import type { DeadLetterAdmin } from "../runtime/dead-letter-admin.js";
import { scan, type Selector } from "./selection.js";
import type { IndexedFailureGroup } from "../transport/failure-group-index.js";
import { parseSignatureKey, signatureKey, signatureOf, type FailureSignature } from "./signature.js";

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
  const indexed = indexAnswers(selector) ? await admin.indexedFailureGroups(selector.query.group === undefined ? {} : { group: selector.query.group }, now) : undefined;
  if (indexed !== undefined) return fromIndex(admin, selector, indexed);
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

/** The index holds signature × consumer group: filters on anything else (time, message id, key, payload) need the entries. */
const IN_INDEX: ReadonlySet<string> = new Set(["group", "topic", "errorCode", "errorClass"]);

function indexAnswers(selector: Selector): boolean {
  return selector.signature === undefined && storeFiltersInIndex(selector);
}

/** Whether the index alone can tell which entries `selector` means (a signature being one of its own keys). */
export function storeFiltersInIndex(selector: Selector): boolean {
  return selector.search === undefined && selector.key === undefined && Object.keys(selector.query).every((name) => IN_INDEX.has(name));
}

async function fromIndex(admin: DeadLetterAdmin, selector: Selector, rows: readonly IndexedFailureGroup[]): Promise<FailureGroups> {
  const q = selector.query;
  const byKey = new Map<string, { signature: FailureSignature; rows: IndexedFailureGroup[] }>();
  for (const row of rows) {
    const signature = parseSignatureKey(row.signature);
    if (signature === undefined) continue; // not a key missive wrote: a plain client's row, not a group
    if ((q.topic !== undefined && signature.type !== q.topic) || (q.errorCode !== undefined && signature.errorCode !== q.errorCode) || (q.errorClass !== undefined && signature.errorClass !== q.errorClass)) continue;
    const key = signatureKey(signature);
    const g = byKey.get(key) ?? { signature, rows: [] };
    g.rows.push(row);
    byKey.set(key, g);
  }
  let scanned = 0;
  const groups: FailureGroup[] = await Promise.all([...byKey.entries()].map(async ([key, g]) => {
    const newest = g.rows.reduce((a, b) => (b.lastDeadLetteredAt > a.lastDeadLetteredAt ? b : a));
    const example = (await admin.get(newest.newestEntryId))?.diagnostics.errorMessage ?? "";
    const count = g.rows.reduce((n, r) => n + r.count, 0);
    scanned += count;
    return {
      ...g.signature, key, count,
      firstSeen: Math.min(...g.rows.map((r) => r.firstDeadLetteredAt)),
      lastSeen: newest.lastDeadLetteredAt,
      example,
      groups: [...new Set(g.rows.map((r) => r.group))].sort(),
      recent: { "5m": g.rows.reduce((n, r) => n + r.recent5m, 0), "1h": g.rows.reduce((n, r) => n + r.recent1h, 0) },
    };
  }));
  groups.sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen || (a.key < b.key ? -1 : 1));
  return { groups, scanned, truncated: false };
}

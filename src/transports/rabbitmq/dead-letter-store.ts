/**
 * The dead-letter store on RabbitMQ: each durable group's dead-letter queue
 * `<group>.dlq` (delivery.ts puts entries there with a confirm, then acks).
 * Every read is a scan (dlq-scan.ts): AMQP cannot browse a queue, so a scan
 * takes the queue's lock, receives all of it unacked, and closes its channel
 * to give everything back in order. Costs follow: each call reads every
 * entry of the queues it covers (memory O(queue size) per scan, bounded by
 * MAX_SCAN_MESSAGES); `list` returns at most `limit` of them.
 *
 * Store order: groups sorted by name, then each queue's order. Which queues:
 * the query's group, else every group of the catalog (catalog.ts) — a
 * dead-letter queue of a group missive never recorded is not seen.
 * `after`: the entries following that entry in store order; when that entry
 * is gone (replayed, discarded), those in its group whose id sorts after it
 * (missive's entry ids are UUIDv7, in dead-letter order), then later groups;
 * when its group is unknown too, every entry whose id sorts after it.
 * Replay publishes to the group's queue with a confirm and only then acks
 * the entry: a crash in between leaves both, never neither.
 */
import type { WireMessage } from "../../envelope/wire.js";
import { UnroutableError } from "../../errors.js";
import { checkQuery, limitOf, matchesQuery, sortSummary, summarise } from "../../transport/dead-letter-query.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import type {
  DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary, OutgoingMessage, PublishResult,
} from "../../transport/transport.js";
import type { Catalog } from "./catalog.js";
import { DeadLetterLocks } from "./dlq-lock.js";
import { DeadLetterScanner, type ScannedEntry } from "./dlq-scan.js";
import { checkGroupName } from "./names.js";
import type { AmqpSession } from "./session.js";
import { wirePriority } from "../../envelope/expiry-priority.js";

/** Entry ids remembered with their group, so a cursor or an id is found without scanning every group. */
const MAX_REMEMBERED = 10_000;

/** Where a page cursor points: a group (found there, or last seen there), or nowhere known. */
type Cursor = { readonly id: string; readonly group: string | undefined };

export class RabbitmqDeadLetterStore implements DeadLetterStore {
  private readonly scanner: DeadLetterScanner;
  private readonly seen = new Map<string, string>();

  constructor(
    session: AmqpSession,
    private readonly catalog: Catalog,
    private readonly publish: (batch: readonly OutgoingMessage[]) => Promise<PublishResult[]>,
  ) {
    this.scanner = new DeadLetterScanner(session, new DeadLetterLocks(session));
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    checkQuery(filter);
    const limit = limitOf(filter);
    const after: unknown = filter?.after;
    if (limit === 0 || (after !== undefined && (typeof after !== "string" || after === ""))) return [];
    const groups = await this.groupsOf(filter);
    const cursor = typeof after === "string" ? await this.locate(after, groups) : undefined;
    const out: DeadLetter[] = [];
    for (const group of groups) {
      if (out.length >= limit) break;
      if (cursor?.group !== undefined && group < cursor.group) continue;
      await this.scanner.scan(group, async (entries) => {
        const start = startOf(entries, group, cursor);
        // The cursor's entry is gone (or its group unknown): fall back to comparing ids.
        const compare = cursor !== undefined && (cursor.group === undefined || (cursor.group === group && start === 0));
        for (let i = start; i < entries.length && out.length < limit; i++) {
          const { entry } = entries[i]!;
          if (compare && !(entry.entryId > cursor.id)) continue;
          if (!matchesQuery(entry, filter)) continue;
          this.remember(entry.entryId, group);
          out.push(entry);
        }
      });
    }
    return out;
  }

  async get(entryId: string): Promise<DeadLetter | undefined> {
    if (typeof entryId !== "string" || entryId === "") return undefined;
    for (const group of await this.searchOrder([entryId])) {
      const found = await this.scanner.scan(group, async (entries) => entries.find((e) => e.entry.entryId === entryId)?.entry);
      if (found) {
        this.remember(entryId, group);
        return found;
      }
    }
    return undefined;
  }

  async count(query?: DeadLetterQuery): Promise<number> {
    checkQuery(query);
    let n = 0;
    for (const group of await this.groupsOf(query)) n += await this.scanner.scan(group, async (entries) => entries.filter((e) => matchesQuery(e.entry, query)).length);
    return n;
  }

  async summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    checkQuery(query);
    const rows: DeadLetterSummary[] = [];
    // Summarised queue by queue and merged, so only one queue's entries are held at a time.
    for (const group of await this.groupsOf(query)) {
      rows.push(...await this.scanner.scan(group, async (entries) => summarise(entries.map((e) => e.entry).filter((e) => matchesQuery(e, query)))));
    }
    return sortSummary(mergeRows(rows));
  }

  async replay(entryIds: readonly string[]): Promise<number> {
    let failure: Error | undefined;
    const moved = await this.act(entryIds, async (matching) => {
      const results = await this.publish(matching.map(({ entry }) => outgoing(entry, { headers: withoutDiagnostics(entry.wire.headers), body: entry.wire.body })));
      let n = 0;
      results.forEach((result, i) => {
        if (result === undefined) {
          matching[i]!.ack();
          n++;
        } else if (!(result instanceof UnroutableError)) failure ??= result; // a gone group (unroutable) is skipped: the entry stays
      });
      return n;
    });
    if (failure) throw failure;
    return moved;
  }

  async replayEdited(entryId: string, wire: WireMessage): Promise<boolean> {
    let failure: Error | undefined;
    const moved = await this.act([entryId], async (matching) => {
      const first = matching[0];
      if (!first) return 0;
      const [result] = await this.publish([outgoing(first.entry, wire)]);
      if (result === undefined) {
        first.ack();
        return 1;
      }
      if (!(result instanceof UnroutableError)) failure = result;
      return 0;
    }, 1);
    if (failure) throw failure;
    return moved > 0;
  }

  discard(entryIds: readonly string[]): Promise<number> {
    return this.act(entryIds, async (matching) => {
      for (const m of matching) m.ack();
      return matching.length;
    });
  }

  async close(): Promise<void> {
    // Nothing held between calls: every scan closes its own channel and frees its lock.
  }

  /**
   * Run `action` on the entries with these ids, queue by queue, under each queue's lock; resolves
   * with the sum of what it returned. Queues where the ids were last seen go first; the others
   * are scanned only for ids not found there. At most `most` entries are handed out in all.
   */
  private async act(entryIds: readonly string[], action: (matching: ScannedEntry[]) => Promise<number>, most = Infinity): Promise<number> {
    const wanted = new Set(entryIds.filter((id): id is string => typeof id === "string" && id !== ""));
    if (wanted.size === 0) return 0;
    let done = 0;
    let handed = 0;
    for (const group of await this.searchOrder([...wanted])) {
      if (wanted.size === 0 || handed >= most) break;
      done += await this.scanner.scan(group, async (entries) => {
        const matching = entries.filter((e) => wanted.has(e.entry.entryId)).slice(0, most - handed);
        if (matching.length === 0) return 0;
        handed += matching.length;
        for (const m of matching) wanted.delete(m.entry.entryId);
        return action(matching);
      });
    }
    return done;
  }

  /** Catalog groups, with those where these ids were last seen first. */
  private async searchOrder(ids: readonly string[]): Promise<string[]> {
    const all = await this.groupsOf(undefined);
    const hinted = new Set<string>();
    for (const id of ids) {
      const g = this.seen.get(id);
      if (g !== undefined && all.includes(g)) hinted.add(g);
    }
    return [...[...hinted].sort(), ...all.filter((g) => !hinted.has(g))];
  }

  /** Find the group of a cursor: remembered, else by scanning groups in store order (once). */
  private async locate(id: string, groups: readonly string[]): Promise<Cursor> {
    const hint = this.seen.get(id);
    if (hint !== undefined && groups.includes(hint)) return { id, group: hint };
    for (const group of groups) {
      if (await this.scanner.scan(group, async (entries) => entries.some((e) => e.entry.entryId === id))) return { id, group };
    }
    return { id, group: undefined };
  }

  private async groupsOf(query: DeadLetterQuery | undefined): Promise<string[]> {
    if (query?.group !== undefined) return isGroupName(query.group) ? [query.group] : [];
    return (await this.catalog.groups()).map(([name]) => name);
  }

  private remember(entryId: string, group: string): void {
    this.seen.delete(entryId);
    this.seen.set(entryId, group);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }
}

/** Index of the first entry of `group` a page after `cursor` may include: just past the cursor's entry when it is here, else 0. */
function startOf(entries: readonly ScannedEntry[], group: string, cursor: Cursor | undefined): number {
  if (cursor === undefined || cursor.group !== group) return 0;
  const at = entries.findIndex((e) => e.entry.entryId === cursor.id);
  return at < 0 ? 0 : at + 1;
}

function outgoing(entry: DeadLetter, wire: WireMessage): OutgoingMessage {
  // A replay keeps the message's priority (binary mode: its `ce-priority` header).
  const priority = wirePriority(wire.headers);
  const message = { topic: entry.topic, id: entry.messageId, key: entry.key, group: entry.group, wire };
  return priority === undefined ? message : { ...message, priority };
}

function isGroupName(name: string): boolean {
  try {
    checkGroupName(name);
    return true;
  } catch {
    return false;
  }
}

function mergeRows(rows: readonly DeadLetterSummary[]): DeadLetterSummary[] {
  const merged = new Map<string, DeadLetterSummary>();
  for (const row of rows) {
    const key = JSON.stringify([row.topic, row.errorCode ?? null, row.errorClass ?? null]);
    const seen = merged.get(key);
    merged.set(key, seen === undefined ? row : {
      ...seen,
      count: seen.count + row.count,
      firstDeadLetteredAt: Math.min(seen.firstDeadLetteredAt, row.firstDeadLetteredAt),
      lastDeadLetteredAt: Math.max(seen.lastDeadLetteredAt, row.lastDeadLetteredAt),
    });
  }
  return [...merged.values()];
}

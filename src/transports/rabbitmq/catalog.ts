/**
 * The catalog of what missive declared on this virtual host, kept in a
 * RabbitMQ stream (`missive.catalog`), because AMQP cannot list queues and
 * the broker here has no management API. Two kinds of small JSON records are
 * appended, each at most once per process and only when not already read:
 *
 *   { "v": 1, "kind": "group", "group", "topics", "temporary", "at" }
 *   { "v": 1, "kind": "delay", "destination": { "kind", "name" }, "level", "at" }
 *   { "v": 1, "kind": "partitioned", "group", "partitions", "at" }
 *
 * Folding them gives every durable group with the union of its topics (and
 * when it was first recorded), and the delay level queues worth probing.
 * Readers resume from the offset they reached, so each read costs only the
 * records appended since, plus the idle gap that tells the end (stream-reader.ts).
 * Limits: nothing is ever removed (a deleted group stays listed; its queue
 * is then probed and found missing); at most MAX_RECORDS records are folded.
 */
import { CATALOG_STREAM, DELAY_LEVELS, type DelayDestination } from "./names.js";
import type { AmqpSession } from "./session.js";
import { StreamAppender, declareStream, readStream } from "./stream-reader.js";
import type { TopologyHooks } from "./topology.js";

/** Most records one process folds; past it the catalog stops reading (and says so in `truncated`). */
export const MAX_RECORDS = 100_000;
const IDLE_MS = 150;
const FIRST_IDLE_MS = 300;

export interface CatalogGroup {
  readonly topics: ReadonlySet<string>;
  /** Unix ms of the group's first record: its queue existed from about then. */
  readonly since: number;
  /** Partitions of an ordered group (partition-names.ts); undefined for a group that is not partitioned. */
  readonly partitions: number | undefined;
}

export class Catalog implements TopologyHooks {
  private readonly groupsByName = new Map<string, { topics: Set<string>; since: number; partitions: number | undefined }>();
  /** Destination key (`g:name` / `t:name`) → its recorded delay levels. */
  private readonly delays = new Map<string, Set<number>>();
  private nextOffset: number | undefined;
  private records = 0;
  private declared: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly appender: StreamAppender;

  constructor(
    private readonly session: AmqpSession,
    private readonly declare: boolean,
  ) {
    this.appender = new StreamAppender(session, CATALOG_STREAM);
  }

  /** True when folding stopped at MAX_RECORDS: some groups may be missing. */
  get truncated(): boolean {
    return this.records >= MAX_RECORDS;
  }

  async onGroupDeclared(group: string, topics: readonly string[]): Promise<void> {
    if (this.knowsGroup(group, topics)) return;
    await this.refresh();
    if (this.knowsGroup(group, topics)) return;
    await this.append({ v: 1, kind: "group", group, topics: [...topics], temporary: false, at: Date.now() });
  }

  async onGroupPartitioned(group: string, partitions: number): Promise<void> {
    if (this.groupsByName.get(group)?.partitions === partitions) return;
    await this.refresh();
    if (this.groupsByName.get(group)?.partitions === partitions) return;
    await this.append({ v: 1, kind: "partitioned", group, partitions, at: Date.now() });
  }

  async onDelayDeclared(level: number, destination: DelayDestination): Promise<void> {
    if (this.delays.get(keyOf(destination))?.has(level)) return;
    await this.refresh();
    if (this.delays.get(keyOf(destination))?.has(level)) return;
    await this.append({ v: 1, kind: "delay", destination: { kind: destination.kind, name: destination.name }, level, at: Date.now() });
  }

  close(): Promise<void> {
    return this.appender.close();
  }

  /** Every recorded group, sorted by name, after reading what was appended since the last read. */
  async groups(): Promise<Array<[string, CatalogGroup]>> {
    await this.refresh();
    return [...this.groupsByName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Recorded delay levels of a destination (call after `groups()`, which refreshes). */
  delayLevels(destination: DelayDestination): number[] {
    return [...(this.delays.get(keyOf(destination)) ?? [])].sort((a, b) => a - b);
  }

  /** Read what was appended since the last read; concurrent callers share one read. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        await this.ensureStream();
        if (this.truncated) return;
        const start = this.nextOffset === undefined ? { first: true as const } : { offset: this.nextOffset };
        const next = await readStream(this.session, CATALOG_STREAM, start, { idleMs: IDLE_MS, firstIdleMs: FIRST_IDLE_MS, maxRecords: MAX_RECORDS - this.records }, (record) => {
          this.records++;
          this.fold(record);
        });
        if (next !== undefined) this.nextOffset = next;
      })().finally(() => (this.refreshing = undefined));
    }
    return this.refreshing;
  }

  private knowsGroup(group: string, topics: readonly string[]): boolean {
    const known = this.groupsByName.get(group);
    return known !== undefined && topics.every((t) => known.topics.has(t));
  }

  private async append(record: Record<string, unknown>): Promise<void> {
    await this.ensureStream();
    await this.appender.append([record]);
    // Folded at once: this process sees its own records without waiting for a read to reach them.
    this.fold(record);
  }

  private ensureStream(): Promise<void> {
    if (!this.declared) {
      this.declared = declareStream(this.session, CATALOG_STREAM, {}, this.declare);
      // Forget a failed declaration so the next call tries again; the awaiting caller gets the error itself.
      this.declared.catch(() => (this.declared = undefined));
    }
    return this.declared;
  }

  /** Fold one record; anything malformed (the stream is writable by any client) is skipped. */
  private fold(record: unknown): void {
    if (record === null || typeof record !== "object") return;
    const r = record as Record<string, unknown>;
    if (r["v"] !== 1) return;
    // Without a time the group may be as old as anything: 0 keeps "since" an honest lower bound.
    const at = typeof r["at"] === "number" && Number.isFinite(r["at"]) ? r["at"] : 0;
    if (r["kind"] === "group" && typeof r["group"] === "string" && r["group"] !== "" && Array.isArray(r["topics"]) && r["temporary"] !== true) {
      let g = this.groupsByName.get(r["group"]);
      if (!g) this.groupsByName.set(r["group"], (g = { topics: new Set(), since: at, partitions: undefined }));
      g.since = Math.min(g.since, at);
      for (const t of r["topics"] as unknown[]) if (typeof t === "string") g.topics.add(t);
      return;
    }
    const partitions = r["partitions"];
    if (r["kind"] === "partitioned" && typeof r["group"] === "string" && typeof partitions === "number" && Number.isInteger(partitions) && partitions >= 1) {
      // Recorded after its group record, so the group is known; the latest number wins.
      const g = this.groupsByName.get(r["group"]);
      if (g) g.partitions = partitions;
      return;
    }
    const d = r["destination"] as { kind?: unknown; name?: unknown } | null | undefined;
    const level = r["level"];
    if (r["kind"] === "delay" && d && (d.kind === "group" || d.kind === "topic") && typeof d.name === "string"
      && typeof level === "number" && Number.isInteger(level) && level >= 0 && level < DELAY_LEVELS) {
      const key = keyOf({ kind: d.kind, name: d.name });
      let levels = this.delays.get(key);
      if (!levels) this.delays.set(key, (levels = new Set()));
      levels.add(level);
    }
  }
}

function keyOf(d: DelayDestination): string {
  return (d.kind === "group" ? "g:" : "t:") + d.name;
}

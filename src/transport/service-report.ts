/**
 * What only a service knows, reported through the seam: per consumer group
 * and message type, how many messages it processed and failed over the last
 * interval, how long they took and how old they were (fixed-bucket
 * histograms, so reports from many processes add up), which keys are held
 * back behind a retrying message; and, for its producer, the spool, the
 * breaker and each outbox relay's lag. A service appends one report per
 * interval through its transport's ServiceReporting ability (abilities.ts),
 * on whatever channel that transport already uses for status (SQLite and
 * PostgreSQL a table, RabbitMQ its status stream, memory its broker); the
 * dashboard reads them back. Reports are best-effort telemetry, never part
 * of delivery: a lost one leaves a gap in a chart, nothing more.
 *
 * The histogram buckets are fixed here, once, so every reader can merge
 * every report. Percentiles are read as the upper bound of the bucket they
 * fall in (at most one bucket too high, never too low).
 */

/** Bucket upper bounds, ms; one more bucket (overflow) counts everything above the last. */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000,
]);

/** Counts per bucket (`LATENCY_BUCKETS_MS.length + 1` entries) and the percentiles they give, ms (`null` when nothing was counted). */
export interface LatencySummary {
  readonly counts: readonly number[];
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** A key whose later messages wait behind a message being retried (ordered consumers). */
export interface BlockedKey {
  readonly key: string;
  /** Unix ms of the retried message's first failure. */
  readonly since: number;
  readonly messageId: string;
  /** Its attempts so far. */
  readonly attempts: number;
}

/** A key with messages waiting, as the transport or the consumer can tell. */
export interface KeyLag {
  readonly key: string;
  /** Messages of the key not yet handled. */
  readonly waiting: number;
  /** Unix ms the oldest of them was published, when known. */
  readonly oldestAt: number | null;
}

/** A consumer's target: `target` (0–1) of messages processed within `withinMs` of their publish. */
export interface ServiceLevel {
  readonly withinMs: number;
  readonly target: number;
}

export interface ConsumerTypeReport {
  readonly group: string;
  readonly type: string;
  /** Deliveries that ended handled (duplicates included) in the interval. */
  readonly processed: number;
  /** Deliveries whose attempt failed (retried, dead-lettered, stopped) in the interval. */
  readonly failed: number;
  /** Pipeline time per delivery: handler, inbox and settle. */
  readonly processing: LatencySummary;
  /** From publish to the handler's start (the publisher's clock against ours). */
  readonly age: LatencySummary;
  /** From publish to processed: what a service level is judged on. */
  readonly total: LatencySummary;
  /** Set when the consumer declares one (`slo` consume option). */
  readonly slo: ServiceLevel | null;
}

export interface ConsumerGroupReport {
  readonly group: string;
  readonly blockedKeys: readonly BlockedKey[];
  /** The keys with the most messages waiting in this process, most first. */
  readonly hotKeys: readonly KeyLag[];
}

export interface ProducerReport {
  readonly broker: "up" | "down";
  readonly breaker: "closed" | "open" | "half-open";
  /** `null` when the bus has no spool. */
  readonly spool: { readonly messages: number; readonly bytes: number; readonly parked: number; readonly oldestAt: number | null } | null;
}

export interface OutboxReport {
  /** The store and its table, e.g. `postgres outbox` / `missive_outbox`. */
  readonly store: string;
  readonly table: string;
  readonly unsent: number;
  /** Age of the oldest unsent row, ms; `null` when none (or unknown). */
  readonly oldestAgeMs: number | null;
}

export interface ServiceReport {
  readonly v: 1;
  readonly kind: "service";
  /** One id per bus (process): a reader keeps each reporter's series apart. */
  readonly reporter: string;
  readonly service: string;
  readonly host: string;
  readonly pid: number;
  /** Unix ms the report was made; it covers the `intervalMs` before it. */
  readonly at: number;
  readonly intervalMs: number;
  readonly types: readonly ConsumerTypeReport[];
  readonly groups: readonly ConsumerGroupReport[];
  readonly producer: ProducerReport;
  readonly outboxes: readonly OutboxReport[];
}

/** Longest text kept from a report read back (the channel is shared: nothing read is trusted). */
const TEXT_MAX = 512;
const LIST_MAX = 1000;

/** A report as another process wrote it, checked; anything malformed is `undefined` (skipped by readers). */
export function serviceReportOf(raw: unknown): ServiceReport | undefined {
  const r = objectOf(raw);
  if (r === undefined || r["v"] !== 1 || r["kind"] !== "service") return undefined;
  const { reporter, service, host, pid, at, intervalMs } = r;
  if (!text(reporter) || !text(service) || !text(host) || !int(pid) || !int(at) || !int(intervalMs)) return undefined;
  const types = listOf(r["types"], typeReportOf);
  const groups = listOf(r["groups"], groupReportOf);
  const producer = producerOf(r["producer"]);
  const outboxes = listOf(r["outboxes"], outboxOf);
  if (types === undefined || groups === undefined || producer === undefined || outboxes === undefined) return undefined;
  return { v: 1, kind: "service", reporter, service, host, pid, at, intervalMs, types, groups, producer, outboxes };
}

function typeReportOf(raw: unknown): ConsumerTypeReport | undefined {
  const r = objectOf(raw);
  if (r === undefined) return undefined;
  const { group, type, processed, failed } = r;
  if (!text(group) || !text(type) || !int(processed) || !int(failed)) return undefined;
  const processing = latencyOf(r["processing"]);
  const age = latencyOf(r["age"]);
  const total = latencyOf(r["total"]);
  const slo = r["slo"] === null ? null : sloOf(r["slo"]);
  if (processing === undefined || age === undefined || total === undefined || slo === undefined) return undefined;
  return { group, type, processed, failed, processing, age, total, slo };
}

function latencyOf(raw: unknown): LatencySummary | undefined {
  const r = objectOf(raw);
  if (r === undefined) return undefined;
  const counts = r["counts"];
  if (!Array.isArray(counts) || counts.length !== LATENCY_BUCKETS_MS.length + 1 || !counts.every(int)) return undefined;
  const p = (v: unknown): number | null | undefined => (v === null ? null : typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const p50 = p(r["p50"]);
  const p95 = p(r["p95"]);
  const p99 = p(r["p99"]);
  if (p50 === undefined || p95 === undefined || p99 === undefined) return undefined;
  return { counts: counts as number[], p50, p95, p99 };
}

function sloOf(raw: unknown): ServiceLevel | undefined {
  const r = objectOf(raw);
  if (r === undefined) return undefined;
  const { withinMs, target } = r;
  if (!int(withinMs) || typeof target !== "number" || !(target > 0 && target <= 1)) return undefined;
  return { withinMs, target };
}

function groupReportOf(raw: unknown): ConsumerGroupReport | undefined {
  const r = objectOf(raw);
  if (r === undefined || !text(r["group"])) return undefined;
  const blockedKeys = listOf(r["blockedKeys"], (b): BlockedKey | undefined => {
    const o = objectOf(b);
    if (o === undefined) return undefined;
    const { key, since, messageId, attempts } = o;
    return text(key) && int(since) && text(messageId) && int(attempts) ? { key, since, messageId, attempts } : undefined;
  });
  const hotKeys = listOf(r["hotKeys"], keyLagOf);
  if (blockedKeys === undefined || hotKeys === undefined) return undefined;
  return { group: r["group"], blockedKeys, hotKeys };
}

export function keyLagOf(raw: unknown): KeyLag | undefined {
  const o = objectOf(raw);
  if (o === undefined) return undefined;
  const { key, waiting, oldestAt } = o;
  return text(key) && int(waiting) && (oldestAt === null || int(oldestAt)) ? { key, waiting, oldestAt } : undefined;
}

function producerOf(raw: unknown): ProducerReport | undefined {
  const r = objectOf(raw);
  if (r === undefined) return undefined;
  const { broker, breaker, spool } = r;
  if (broker !== "up" && broker !== "down") return undefined;
  if (breaker !== "closed" && breaker !== "open" && breaker !== "half-open") return undefined;
  if (spool === null) return { broker, breaker, spool: null };
  const s = objectOf(spool);
  if (s === undefined) return undefined;
  const { messages, bytes, parked, oldestAt } = s;
  if (!int(messages) || !int(bytes) || !int(parked) || !(oldestAt === null || int(oldestAt))) return undefined;
  return { broker, breaker, spool: { messages, bytes, parked, oldestAt } };
}

function outboxOf(raw: unknown): OutboxReport | undefined {
  const r = objectOf(raw);
  if (r === undefined) return undefined;
  const { store, table, unsent, oldestAgeMs } = r;
  return text(store) && text(table) && int(unsent) && (oldestAgeMs === null || int(oldestAgeMs)) ? { store, table, unsent, oldestAgeMs } : undefined;
}

function objectOf(raw: unknown): Record<string, unknown> | undefined {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
}

function listOf<T>(raw: unknown, each: (v: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(raw) || raw.length > LIST_MAX) return undefined;
  const out: T[] = [];
  for (const v of raw) {
    const item = each(v);
    if (item === undefined) return undefined;
    out.push(item);
  }
  return out;
}

function text(v: unknown): v is string {
  return typeof v === "string" && v.length <= TEXT_MAX;
}

function int(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The services as the page shows them, folded from the service reports
 * (service-report.ts) of every process: per consumer group and type a
 * series over time (throughput, failures, processing-time and age
 * percentiles) and its service level met or not; the keys blocked behind a
 * retry and the busiest keys; each producer's broker, breaker, spool and
 * outbox lag. Reports of several processes fall into the same time slot and
 * are added up (their histograms merged), so the percentiles are of every
 * message, not an average of averages.
 */
import { countWithin, mergeCounts, percentile } from "../runtime/latency-histogram.js";
import type { BlockedKey, OutboxReport, ProducerReport, ServiceLevel, ServiceReport } from "../transport/service-report.js";

export interface SeriesPoint {
  /** Unix ms: the slot's start. */
  readonly at: number;
  /** Messages processed a second in the slot. */
  readonly throughput: number;
  readonly processed: number;
  readonly failed: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly ageP50: number | null;
  readonly ageP95: number | null;
  readonly ageP99: number | null;
}

export interface LevelStatus extends ServiceLevel {
  /** Where it was set: `--slo`/`slo` of the dashboard, or the consumer's own option. */
  readonly from: "dashboard" | "consumer";
  /** Share of the window's processed messages within `withinMs` of their publish; `null` when none were processed. */
  readonly share: number | null;
  readonly counted: number;
  readonly met: boolean | null;
}

export interface TypeSeries {
  readonly group: string;
  readonly type: string;
  readonly points: readonly SeriesPoint[];
  readonly slo: LevelStatus | null;
}

export interface ProducerView extends ProducerReport {
  readonly service: string;
  readonly host: string;
  readonly pid: number;
  readonly at: number;
  readonly outboxes: readonly OutboxReport[];
}

export interface ServicesView {
  readonly slotMs: number;
  readonly windowMs: number;
  readonly series: readonly TypeSeries[];
  readonly blockedKeys: readonly (BlockedKey & { readonly group: string; readonly service: string; readonly forMs: number })[];
  readonly hotKeys: readonly { readonly group: string; readonly key: string; readonly waiting: number; readonly service: string }[];
  readonly producers: readonly ProducerView[];
}

/** A process whose latest report is older than this many of its intervals is gone: its keys and producer are not shown. */
const LIVE_INTERVALS = 3;
const MIN_SLOT_MS = 1000;
const MAX_SLOT_MS = 60_000;

export function servicesView(reports: readonly ServiceReport[], levels: ReadonlyMap<string, ServiceLevel>, windowMs: number, now: number): ServicesView {
  const recent = reports.filter((r) => r.at > now - windowMs && r.at <= now + 60_000);
  const slotMs = Math.min(MAX_SLOT_MS, Math.max(MIN_SLOT_MS, ...recent.map((r) => r.intervalMs)));
  const byType = new Map<string, { group: string; type: string; slots: Map<number, Slot>; total: number[]; consumerLevel: ServiceLevel | null }>();
  for (const r of recent) {
    const slot = Math.floor(r.at / slotMs) * slotMs;
    for (const t of r.types) {
      const id = `${t.group}\u0000${t.type}`;
      let s = byType.get(id);
      if (s === undefined) byType.set(id, (s = { group: t.group, type: t.type, slots: new Map(), total: [], consumerLevel: null }));
      s.consumerLevel = t.slo ?? s.consumerLevel;
      let p = s.slots.get(slot);
      if (p === undefined) s.slots.set(slot, (p = { processed: 0, failed: 0, processing: [], age: [] }));
      p.processed += t.processed;
      p.failed += t.failed;
      mergeCounts(p.processing, t.processing.counts);
      mergeCounts(p.age, t.age.counts);
      mergeCounts(s.total, t.total.counts);
    }
  }
  const series: TypeSeries[] = [...byType.values()].map((s) => {
    const points = [...s.slots.entries()].sort((a, b) => a[0] - b[0]).map(([at, p]) => pointOf(at, p, slotMs));
    const level = levels.get(s.type);
    const slo = level !== undefined ? levelStatus(level, "dashboard", s.total) : s.consumerLevel !== null ? levelStatus(s.consumerLevel, "consumer", s.total) : null;
    return { group: s.group, type: s.type, points, slo };
  });
  series.sort((a, b) => (a.group === b.group ? (a.type < b.type ? -1 : 1) : a.group < b.group ? -1 : 1));
  // Types with a level set on the dashboard but no report yet still show (not met, nothing counted).
  for (const [type, level] of levels) {
    if (!series.some((s) => s.type === type)) series.push({ group: "-", type, points: [], slo: levelStatus(level, "dashboard", []) });
  }
  return { slotMs, windowMs, series, ...liveState(reports, now) };
}

interface Slot {
  processed: number;
  failed: number;
  processing: number[];
  age: number[];
}

function pointOf(at: number, p: Slot, slotMs: number): SeriesPoint {
  return {
    at, processed: p.processed, failed: p.failed, throughput: Math.round((p.processed / (slotMs / 1000)) * 100) / 100,
    p50: percentile(p.processing, 0.5), p95: percentile(p.processing, 0.95), p99: percentile(p.processing, 0.99),
    ageP50: percentile(p.age, 0.5), ageP95: percentile(p.age, 0.95), ageP99: percentile(p.age, 0.99),
  };
}

function levelStatus(level: ServiceLevel, from: LevelStatus["from"], total: readonly number[]): LevelStatus {
  const counted = total.reduce((a, b) => a + b, 0);
  const share = counted === 0 ? null : countWithin(total, level.withinMs) / counted;
  return { ...level, from, counted, share, met: share === null ? null : share >= level.target };
}

/** From each live process's latest report: the keys it holds blocked, its busiest keys, its producer. */
function liveState(reports: readonly ServiceReport[], now: number): Pick<ServicesView, "blockedKeys" | "hotKeys" | "producers"> {
  const latest = new Map<string, ServiceReport>();
  for (const r of reports) {
    const seen = latest.get(r.reporter);
    if (seen === undefined || seen.at <= r.at) latest.set(r.reporter, r);
  }
  const live = [...latest.values()].filter((r) => now - r.at <= LIVE_INTERVALS * r.intervalMs + 1000);
  const blockedKeys = live.flatMap((r) => r.groups.flatMap((g) => g.blockedKeys.map((b) => ({ ...b, group: g.group, service: r.service, forMs: Math.max(0, now - b.since) }))));
  blockedKeys.sort((a, b) => a.since - b.since);
  const hotKeys = live.flatMap((r) => r.groups.flatMap((g) => g.hotKeys.map((k) => ({ group: g.group, key: k.key, waiting: k.waiting, service: r.service }))));
  hotKeys.sort((a, b) => b.waiting - a.waiting);
  const producers = live.map((r) => ({ service: r.service, host: r.host, pid: r.pid, at: r.at, ...r.producer, outboxes: r.outboxes }));
  producers.sort((a, b) => (a.service === b.service ? a.pid - b.pid : a.service < b.service ? -1 : 1));
  return { blockedKeys: blockedKeys.slice(0, 200), hotKeys: hotKeys.slice(0, 50), producers };
}

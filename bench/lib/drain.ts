/**
 * The drain-RSS figures every transport reports: a backlog drained while RSS
 * is sampled (with the drain's progress), read at 20% and 90% of the drain
 * and as the mean of the first and the last tenth of the samples; and the
 * row's notes built from them, with one rule for "flat".
 */
import type { DrainResult } from "../cases/sqlite.js";
import { rate } from "./measure.js";
import type { RssSampler } from "./rss-sampler.js";

/** `rss` sampled with the drain's progress, stopped when `messages` were handled in `ms`. */
export function drainResult(rss: RssSampler, messages: number, ms: number): DrainResult {
  const at20 = rss.atProgressMb(0.2);
  const at90 = rss.atProgressMb(0.9);
  const tenths = rss.tenthsMb();
  return {
    drainPerS: rate(messages, ms), peakMb: rss.peakMb, startMb: rss.atProgressMb(0), at20Mb: at20, at90Mb: at90,
    growthMb: Math.round((at90 - at20) * 10) / 10, firstTenthMb: tenths.first, lastTenthMb: tenths.last,
    heapStartMb: rss.heapStartMb, heapEndMb: rss.heapEndMb,
  };
}

/**
 * A drain row's notes. Flat: no more than 10% (or 16 MB) more at 90% of the drain than at 20%. The heap after a full
 * collection before and after the drain tells garbage not yet collected (RSS up, retained heap not) from a leak.
 */
export function drainNotes(d: DrainResult): Record<string, number | boolean | null> {
  return {
    rss_start_mb: d.startMb,
    rss_at_20pct_mb: d.at20Mb,
    rss_at_90pct_mb: d.at90Mb,
    rss_growth_20_to_90pct_mb: d.growthMb,
    rss_first_tenth_mb: d.firstTenthMb,
    rss_last_tenth_mb: d.lastTenthMb,
    rss_flat: d.growthMb <= Math.max(16, d.at20Mb * 0.1),
    heap_after_gc_start_mb: d.heapStartMb,
    heap_after_gc_end_mb: d.heapEndMb,
    heap_retained_growth_mb: d.heapStartMb === null || d.heapEndMb === null ? null : Math.round((d.heapEndMb - d.heapStartMb) * 10) / 10,
  };
}

/** One line for the run's summary. */
export function drainSummary(label: string, d: DrainResult): string {
  const heap = d.heapStartMb === null || d.heapEndMb === null ? "" : `; heap after a full GC ${d.heapStartMb} MB before, ${d.heapEndMb} MB after`;
  return `${label} drain RSS: start ${d.startMb} MB, at 20% ${d.at20Mb} MB, at 90% ${d.at90Mb} MB (growth ${d.growthMb} MB), first/last tenth ${d.firstTenthMb}/${d.lastTenthMb} MB, peak ${d.peakMb} MB${heap}`;
}

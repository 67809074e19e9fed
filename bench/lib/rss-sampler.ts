/**
 * Samples the process's resident set size on a timer and on demand (a
 * synchronous loop starves the timer, so raw cases call `sample()` per batch).
 * Each sample can carry a progress fraction, to read RSS at 20% and 90% of a drain.
 *
 * A drain's sampler (one given a progress function) also reads the heap
 * after a full collection when it starts and when it stops (bench children
 * run with --expose-gc): RSS rises while the collector lets garbage pile up
 * and falls when it runs, so RSS alone cannot tell that from a leak; the
 * heap that survives a collection can.
 */
export interface RssSample {
  readonly ms: number;
  readonly rss: number;
  readonly progress: number;
}

export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private peakBytes = 0;
  private readonly t0 = performance.now();
  private readonly progress: () => number;
  private readonly readsHeap: boolean;
  /** The heap in use after a full collection as the sampler started and stopped, MB; null without --expose-gc or progress. */
  heapStartMb: number | null = null;
  heapEndMb: number | null = null;

  constructor(progress?: () => number) {
    this.progress = progress ?? (() => 0);
    this.readsHeap = progress !== undefined;
  }

  start(everyMs = 20): this {
    if (this.readsHeap) this.heapStartMb = heapAfterGcMb();
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    return this;
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakBytes) this.peakBytes = rss;
    this.samples.push({ ms: performance.now() - this.t0, rss, progress: this.progress() });
  }

  stop(): this {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    if (this.readsHeap) this.heapEndMb = heapAfterGcMb();
    return this;
  }

  get peakMb(): number {
    return mb(this.peakBytes);
  }

  /** Mean RSS of the first and of the last tenth of the samples (at least one each), MB: flat when they are close. */
  tenthsMb(): { first: number; last: number } {
    const n = Math.max(1, Math.floor(this.samples.length / 10));
    const mean = (xs: readonly RssSample[]): number => mb(xs.reduce((a, x) => a + x.rss, 0) / Math.max(1, xs.length));
    return { first: mean(this.samples.slice(0, n)), last: mean(this.samples.slice(-n)) };
  }

  /** RSS of the first sample at or past `fraction` of the work, MB. */
  atProgressMb(fraction: number): number {
    const s = this.samples.find((x) => x.progress >= fraction) ?? this.samples[this.samples.length - 1];
    return s ? mb(s.rss) : 0;
  }
}

export function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** The heap in use right after a full collection, MB; null when the process runs without --expose-gc. */
export function heapAfterGcMb(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  gc();
  return mb(process.memoryUsage().heapUsed);
}

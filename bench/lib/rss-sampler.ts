/**
 * Samples the process's resident set size on a timer and on demand (a
 * synchronous loop starves the timer, so raw cases call `sample()` per batch).
 * Each sample can carry a progress fraction, to read RSS at 20% and 90% of a drain.
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

  constructor(private readonly progress: () => number = () => 0) {}

  start(everyMs = 20): this {
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

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

  /** RSS of the first sample at or past `fraction` of the work, MB. */
  atProgressMb(fraction: number): number {
    const s = this.samples.find((x) => x.progress >= fraction) ?? this.samples[this.samples.length - 1];
    return s ? mb(s.rss) : 0;
  }
}

export function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

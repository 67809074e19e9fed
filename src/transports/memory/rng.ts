/**
 * A small seeded PRNG (sfc32). The fault simulator draws every decision from
 * one of these so that a seed replays a schedule: same seed, same sequence of
 * calls, same faults. `Math.random` is never used for a decision.
 */

export interface Rng {
  /** The seed this generator started from (print it when a property fails). */
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n); 0 when n <= 1. */
  int(n: number): number;
  /** True with probability `p`. Draws nothing when `p <= 0` or `p >= 1`, so a disabled fault does not shift the others. */
  chance(p: number): boolean;
}

/** A fresh seed for callers that did not choose one (still reported as `seed`). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

export function createRng(seed: number): Rng {
  const s = seed >>> 0;
  // sfc32 wants 128 bits of state: fixed constants plus the seed, then warm-up rounds mix it in.
  let a = 0x9e3779b9 | 0;
  let b = 0x243f6a88 | 0;
  let c = 0xb7e15162 | 0;
  let d = (s ^ 0xdeadbeef) | 0;
  const step = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 0x1_0000_0000;
  };
  // The first outputs of sfc32 are correlated with the seed: discard them.
  for (let i = 0; i < 15; i++) step();

  return {
    seed: s,
    next: step,
    int(n: number): number {
      if (!(n > 1)) return 0;
      return Math.floor(step() * Math.floor(n));
    },
    chance(p: number): boolean {
      if (!(p > 0)) return false;
      if (p >= 1) return true;
      return step() < p;
    },
  };
}

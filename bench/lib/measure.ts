/** Rates and CPU per message, as every case reports them. */
import { RssSampler } from "./rss-sampler.js";

export function rate(n: number, ms: number): number {
  return Math.round(n / (ms / 1000));
}

/** CPU (user + system) of this process since `since`, µs per message. */
export function cpuUsPerMsg(since: NodeJS.CpuUsage, n: number): number {
  const u = process.cpuUsage(since);
  return Math.round(((u.user + u.system) / n) * 10) / 10;
}

/** A measured phase: its wall time, CPU per message and peak RSS (sampled while it runs). */
export interface Phase {
  readonly ms: number;
  readonly cpuUsPerMsg: number;
  readonly rssMb: number;
}

export async function measurePhase(messages: number, work: () => Promise<unknown>): Promise<Phase> {
  const rss = new RssSampler().start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    await work();
  } catch (err) {
    rss.stop();
    throw err;
  }
  const ms = performance.now() - t0;
  const cpu = cpuUsPerMsg(cpu0, messages);
  return { ms, cpuUsPerMsg: cpu, rssMb: rss.stop().peakMb };
}

/** `callers` concurrent callers, each awaiting `call` until `messages` calls were started: a peer's publish loop. */
export async function concurrentCalls(messages: number, callers: number, call: () => Promise<unknown>): Promise<void> {
  let started = 0;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (started < messages) {
      started++;
      await call();
    }
  }));
}

/** Rates and CPU per message, as every case reports them. */

export function rate(n: number, ms: number): number {
  return Math.round(n / (ms / 1000));
}

/** CPU (user + system) of this process since `since`, µs per message. */
export function cpuUsPerMsg(since: NodeJS.CpuUsage, n: number): number {
  const u = process.cpuUsage(since);
  return Math.round(((u.user + u.system) / n) * 10) / 10;
}

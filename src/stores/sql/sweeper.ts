/**
 * Periodic cleanup, as an explicit setting: an inbox given `retentionMs`
 * deletes rows older than that every `cleanupIntervalMs` (unref'd timer, one
 * sweep at a time, failures left for the next sweep). Without `retentionMs`
 * nothing is deleted unless `cleanup()` is called.
 */
import { ConfigurationError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { intOption } from "./names.js";

export interface RetentionOptions {
  /** Delete inbox rows older than this, ms. Default: keep them (call `cleanup` yourself). */
  readonly retentionMs?: number;
  /** How often to delete expired rows when `retentionMs` is set, ms. Default 60 000. */
  readonly cleanupIntervalMs?: number;
  /** Most rows one DELETE removes (cleanup loops in chunks). Default 1000. */
  readonly cleanupChunk?: number;
}

export interface Sweeper {
  stop(): void;
}

const YEAR_MS = 3650 * 24 * 3600 * 1000;

export function retention(o: Partial<RetentionOptions>, what: string): { retentionMs: number | undefined; intervalMs: number; chunk: number } {
  if (o.retentionMs !== undefined && (typeof o.retentionMs !== "number" || !Number.isInteger(o.retentionMs) || o.retentionMs < 0 || o.retentionMs > YEAR_MS)) {
    throw new ConfigurationError(`${what}: retentionMs must be a non-negative integer`);
  }
  return {
    retentionMs: o.retentionMs,
    intervalMs: intOption(o.cleanupIntervalMs, 60_000, 10, YEAR_MS, `${what} cleanupIntervalMs`),
    chunk: intOption(o.cleanupChunk, 1000, 1, 100_000, `${what} cleanupChunk`),
  };
}

export function startSweeper(retentionMs: number | undefined, intervalMs: number, sweep: (olderThanMs: number) => Promise<number>, log?: Logger): Sweeper {
  if (retentionMs === undefined) return { stop: () => undefined };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep(retentionMs)
      .catch((err: unknown) => log?.warn({ err }, "inbox cleanup failed; retrying at the next interval"))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

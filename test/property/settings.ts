/**
 * How many property runs, from which seed: read once from the environment.
 *
 *   MISSIVE_PROPERTY_RUNS=2000          more (or fewer) schedules; default 500
 *   MISSIVE_PROPERTY_SEED=<n>           fast-check's seed: replays the same schedules
 *   MISSIVE_PROPERTY_PATH=<p>           with the seed: jump straight to one counterexample
 *
 * A failing run prints all three, ready to paste.
 */
import type { Parameters } from "fast-check";

function integerFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

export const PROPERTY_RUNS = integerFromEnv("MISSIVE_PROPERTY_RUNS") ?? 500;

/** The seed this process uses: from the environment, or fresh and printed on failure. */
export const PROPERTY_SEED = integerFromEnv("MISSIVE_PROPERTY_SEED") ?? (Math.floor(Math.random() * 0x7fff_ffff) | 0);

const PROPERTY_PATH = process.env["MISSIVE_PROPERTY_PATH"]?.trim() || undefined;

/** Real ms a property may take, shrinking included; past it, the property fails with what it has. */
export const PROPERTY_TIME_LIMIT_MS = Math.max(100_000, PROPERTY_RUNS * 400);

/** fast-check parameters for a property that runs `share` of the runs (split across files). */
export function propertyParameters<T>(share = 1): Parameters<T> {
  return {
    numRuns: Math.max(1, Math.ceil(PROPERTY_RUNS * share)),
    // A slow run (or a long shrink) fails loudly instead of passing on fewer runs than asked.
    interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
    markInterruptAsFailure: true,
    seed: PROPERTY_SEED,
    ...(PROPERTY_PATH !== undefined ? { path: PROPERTY_PATH } : {}),
  };
}

/** The command line that replays a failure. */
export function replayHint(seed: number, path: string | undefined, file: string): string {
  const pathPart = path === undefined ? "" : ` MISSIVE_PROPERTY_PATH=${path}`;
  return `MISSIVE_PROPERTY_SEED=${seed}${pathPart} npx vitest run ${file}`;
}

/**
 * The parts of `npm run bench` (a transport's cases, the outbox, the spool).
 * A part that fails (a broker down, a case past its timeout) is recorded with
 * its error and the run goes on: its rows are missing from the results,
 * docs/performance.md lists it, and the run exits 1 at the end. One broken
 * case no longer throws away an hour of other figures.
 */
import type { Row } from "./results.js";
import type { BenchFailure } from "./run-info.js";

export interface PartResult {
  readonly rows: readonly Row[];
  readonly summary?: readonly string[];
}

export type RunPart = (name: string, fn: () => Promise<PartResult>) => Promise<void>;

/** Runs parts one after another into `rows`, `summary` and `failures`. */
export function partRunner(rows: Row[], summary: string[], failures: BenchFailure[], log: (line: string) => void): RunPart {
  return async (name, fn) => {
    try {
      const out = await fn();
      rows.push(...out.rows);
      summary.push(...(out.summary ?? []));
    } catch (err) {
      failures.push({ part: name, error: err instanceof Error ? err.message.split("\n")[0]! : String(err) });
      log(`FAILED: ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  };
}

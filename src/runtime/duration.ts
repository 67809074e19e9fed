import { ConfigurationError } from "../errors.js";

/** A duration: milliseconds as a number, or a string like `250ms`, `5s`, `30s`, `5m`, `1h`. */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h"}`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function toMs(duration: Duration, what = "duration"): number {
  if (typeof duration === "number") {
    if (!Number.isFinite(duration) || duration < 0) throw new ConfigurationError(`${what} must be a non-negative number of ms`);
    return duration;
  }
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!m) throw new ConfigurationError(`${what} ${JSON.stringify(duration)} is not a duration like "500ms", "5s", "5m" or "1h"`);
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!]!);
  // A long enough run of digits parses to Infinity, which is no duration.
  if (!Number.isFinite(ms)) throw new ConfigurationError(`${what} ${JSON.stringify(duration.slice(0, 40))} is too large`);
  return ms;
}

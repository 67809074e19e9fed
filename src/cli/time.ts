/**
 * `--since` / `--until` values: an ISO 8601 time (`2025-01-02`,
 * `2025-01-02T03:04:05Z`) or a relative one meaning that long ago
 * (`90s`, `30m`, `2h`, `7d`, `2w`).
 */
import { usageError } from "./exit-codes.js";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RELATIVE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Unix ms for an option value; throws a usage error naming the option. */
export function parseTime(value: string, option: string, now: number = Date.now()): number {
  const text = value.trim();
  const rel = RELATIVE.exec(text);
  if (rel) {
    const ms = Number(rel[1]) * UNIT_MS[rel[2]!]!;
    if (Number.isFinite(ms)) return now - ms;
  } else if (ISO.test(text)) {
    const t = Date.parse(text);
    if (Number.isFinite(t)) return t;
  }
  throw usageError(`${option} ${JSON.stringify(value.slice(0, 60))} is not a time: use ISO 8601 (2025-01-02T03:04:05Z) or how long ago (30m, 2h, 7d)`);
}

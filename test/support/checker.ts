/**
 * A delivery checker in the spirit of Jepsen's total-queue: a fault test
 * records what producers attempted and saw confirmed or rejected, every time
 * a handler ran, and every side effect that committed; after the final drain
 * `check()` says what the contract (DESIGN.md §1, §2) forbids or tolerates:
 *
 * - lost: confirmed but never handled (forbidden: at-least-once);
 * - duplicates: handler runs beyond the first (tolerated: redelivery);
 * - doubleEffects: more than one committed effect (forbidden with the inbox);
 * - rejectedButDelivered: publish said no, yet a handler saw it (a confirm
 *   lost after the commit; tolerated, but worth counting);
 * - unexpected: handled but never attempted (forbidden: a phantom message).
 */

export interface CheckResult {
  /** Distinct ids the producers tried to publish (confirmed ones included). */
  readonly attempted: number;
  readonly confirmed: number;
  readonly rejected: number;
  /** Distinct ids some handler ran for. */
  readonly handled: number;
  /** Attempted, neither confirmed nor rejected (in flight when a producer died): may or may not arrive. */
  readonly indeterminate: number;
  /** Confirmed ids never handled. */
  readonly lost: string[];
  /** Handler runs beyond the first, summed over ids. */
  readonly duplicates: number;
  /** Ids whose effect was recorded more than once. */
  readonly doubleEffects: string[];
  /** Confirmed ids with no effect recorded (only once any effect was recorded at all). */
  readonly missingEffects: string[];
  readonly rejectedButDelivered: string[];
  /** Ids handled (or with an effect) that no producer attempted. */
  readonly unexpected: string[];
}

export interface Checker {
  /** A producer is about to publish `id`. */
  attempted(id: string): void;
  /** The broker confirmed `id` (implies attempted). */
  confirmed(id: string): void;
  /** `publish` of `id` failed (implies attempted). */
  rejected(id: string, error?: unknown): void;
  /** A handler ran for `id`; call once per run. */
  handled(id: string): void;
  /** One committed side effect of `id` (e.g. a row read back from the effects table); `times` at once. */
  effect(id: string, times?: number): void;
  check(): CheckResult;
  /** One line of counts, for the test log. */
  summary(): string;
}

const bump = (map: Map<string, number>, id: string, by = 1): void => void map.set(id, (map.get(id) ?? 0) + by);

export function createChecker(): Checker {
  const attempted = new Set<string>();
  const confirmed = new Set<string>();
  const rejected = new Map<string, unknown>();
  const handles = new Map<string, number>();
  const effects = new Map<string, number>();

  const check = (): CheckResult => {
    const handledOrEffect = new Set([...handles.keys(), ...effects.keys()]);
    let duplicates = 0;
    for (const n of handles.values()) duplicates += n - 1;
    return {
      attempted: attempted.size,
      confirmed: confirmed.size,
      rejected: rejected.size,
      handled: handles.size,
      indeterminate: [...attempted].filter((id) => !confirmed.has(id) && !rejected.has(id)).length,
      lost: [...confirmed].filter((id) => !handles.has(id)),
      duplicates,
      doubleEffects: [...effects].filter(([, n]) => n > 1).map(([id]) => id),
      missingEffects: effects.size === 0 ? [] : [...confirmed].filter((id) => !effects.has(id)),
      rejectedButDelivered: [...rejected.keys()].filter((id) => handles.has(id) || effects.has(id)),
      unexpected: [...handledOrEffect].filter((id) => !attempted.has(id)),
    };
  };

  return {
    attempted: (id) => void attempted.add(id),
    confirmed(id) {
      attempted.add(id);
      confirmed.add(id);
    },
    rejected(id, error) {
      attempted.add(id);
      rejected.set(id, error);
    },
    handled: (id) => bump(handles, id),
    effect(id, times = 1) {
      if (!Number.isInteger(times) || times < 1) throw new RangeError(`effect times must be a positive integer, got ${times}`);
      bump(effects, id, times);
    },
    check,
    summary() {
      const r = check();
      return [
        `attempted=${r.attempted}`, `confirmed=${r.confirmed}`, `rejected=${r.rejected}`, `indeterminate=${r.indeterminate}`,
        `handled=${r.handled}`, `lost=${r.lost.length}`, `duplicates=${r.duplicates}`, `double_effects=${r.doubleEffects.length}`,
        `missing_effects=${r.missingEffects.length}`, `rejected_but_delivered=${r.rejectedButDelivered.length}`, `unexpected=${r.unexpected.length}`,
      ].join(" ");
    },
  };
}

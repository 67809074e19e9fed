/** One schedule on fake time, judged: shared by the property and the fixed regression cases. */
import { describeFailure, violations } from "./invariants.js";
import { runSchedule, type Outcome, type Sabotage } from "./run-schedule.js";
import type { Schedule } from "./schedule.js";
import { onVirtualTime } from "./virtual-time.js";

/** Fake and real time one schedule may take before it counts as stuck. */
export const SCHEDULE_LIMITS = { virtualMs: 3_600_000, realMs: 20_000 };

export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
}

/** Run `schedule`; throw a ContractViolation that describes the whole run when an invariant fails. */
export async function runChecked(schedule: Schedule, sabotage?: Sabotage): Promise<Outcome> {
  const outcome = await onVirtualTime(() => runSchedule(schedule, sabotage), SCHEDULE_LIMITS);
  const found = violations(schedule, outcome);
  if (found.length > 0) throw new ContractViolation(describeFailure(schedule, outcome, found));
  return outcome;
}

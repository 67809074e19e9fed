/**
 * A service level as people say it: `95%<30s` (95% of messages processed
 * within 30 s of their publish), or `{ within: "30s", target: 0.95 }`. One
 * parser for the consume option and the dashboard's `--slo type=95%<30s`.
 */
import { ConfigurationError } from "../errors.js";
import type { ServiceLevel } from "../transport/service-report.js";
import { toMs, type Duration } from "./duration.js";

export type ServiceLevelOption = `${number}%<${Duration}` | { readonly within: Duration; readonly target: number };

const TEXT = /^\s*(\d+(?:\.\d+)?)\s*%\s*<\s*(\S+)\s*$/;

export function serviceLevel(option: ServiceLevelOption | string, what: string): ServiceLevel {
  let target: number;
  let within: Duration;
  if (typeof option === "string") {
    const m = TEXT.exec(option);
    if (!m) throw new ConfigurationError(`${what} ${JSON.stringify(option.slice(0, 60))} is not a service level like "95%<30s"`);
    target = Number(m[1]) / 100;
    within = m[2] as Duration;
  } else {
    if (typeof option !== "object" || option === null) throw new ConfigurationError(`${what} must be "95%<30s" or { within, target }`);
    target = option.target;
    within = option.within;
  }
  if (typeof target !== "number" || !(target > 0 && target <= 1)) throw new ConfigurationError(`${what}: the share must be above 0% and at most 100%`);
  const withinMs = toMs(within, `${what} duration`);
  if (withinMs < 1) throw new ConfigurationError(`${what}: the duration must be at least 1 ms`);
  return { withinMs, target };
}

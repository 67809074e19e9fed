/**
 * The header prefix under which missive writes retry bookkeeping and
 * dead-letter diagnostics. Part of the seam: a dead-letter store's replay
 * strips exactly these headers, leaving the original ones untouched.
 */
import { emptyHeaders } from "../envelope/wire.js";

export const DIAGNOSTIC_PREFIX = "missive-";

/** The diagnostic headers (docs/contract.md §6); stores filter and summarise dead letters by the error ones. */
export const DiagnosticHeaders = {
  errorClass: "missive-error-class",
  errorCode: "missive-error-code",
  errorMessage: "missive-error-message",
  errorStack: "missive-error-stack",
  reason: "missive-reason",
  attempts: "missive-attempts",
  firstFailure: "missive-first-failure",
  lastFailure: "missive-last-failure",
  source: "missive-source",
  group: "missive-group",
  host: "missive-host",
  version: "missive-version",
} as const;

/** The headers without any missive diagnostics. */
export function withoutDiagnostics(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out = emptyHeaders();
  for (const name in headers) if (!name.startsWith(DIAGNOSTIC_PREFIX)) out[name] = headers[name]!;
  return out;
}

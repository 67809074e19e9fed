/**
 * How a failed command ends: one line on stderr, `missive: <message>
 * [MISSIVE_CODE]` (every failure has a code: a missive error's own, the
 * CLI's for its own errors, MISSIVE_UNKNOWN for anything else), then schema issues when a contract refused data; a stack
 * only with MISSIVE_DEBUG=1; never a password (URL credentials are masked,
 * and any password seen in the arguments or MISSIVE_URL is blanked out
 * wherever it appears); control characters escaped.
 */
import { CommanderError } from "commander";
import { redact } from "../connect.js";
import { ErrorCodes, isMissiveError, SchemaValidationError } from "../errors.js";
import { CLI_CODES, CliError, ExitCode } from "./exit-codes.js";
import { safeText, writeErr } from "./output.js";

const CREDENTIALS = /\/\/[^:/@\s]*:([^@/\s]*)@/g;

/** Passwords carried by URLs in `sources` (as written and %-decoded). */
export function secretsIn(sources: ReadonlyArray<string | undefined>): string[] {
  const secrets = new Set<string>();
  for (const s of sources) {
    if (!s) continue;
    for (const m of s.matchAll(CREDENTIALS)) {
      const raw = m[1] ?? "";
      if (raw.length < 3) continue; // too short to blank out blindly; redact() still masks it inside URLs
      secrets.add(raw);
      try {
        secrets.add(decodeURIComponent(raw));
      } catch {
        // a malformed %-escape: the raw form is enough
      }
    }
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** Text safe to print: credentials masked, known secrets blanked, control characters escaped. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = redact(text);
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

/** The code a failure line ends with. */
export function codeOf(err: unknown): string {
  if (err instanceof CliError) return err.code;
  if (isMissiveError(err)) return err.code;
  return ErrorCodes.UNKNOWN;
}

/** Commander's own error text (unknown command, bad option value) with the usage code, like every other failure. */
export function withUsageCode(text: string): string {
  const body = text.replace(/\n+$/, "");
  return `${body} [${CLI_CODES[ExitCode.usage]}]\n`;
}

export function reportError(err: unknown, secrets: readonly string[]): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  const message = err instanceof Error ? err.message : String(err);
  writeErr(`missive: ${safeText(scrub(message, secrets))} [${codeOf(err)}]`);
  if (err instanceof SchemaValidationError) {
    for (const issue of err.issues) {
      const path = issue.path && issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ` : "";
      writeErr(`  - ${safeText(scrub(path + issue.message, secrets))}`);
    }
  }
  if (process.env["MISSIVE_DEBUG"] === "1") {
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      writeErr(`${depth > 0 ? "caused by: " : ""}${scrub(e.stack ?? e.message, secrets)}`);
    }
  }
  if (err instanceof CliError) return err.exitCode;
  return isMissiveError(err) && (err.code === "MISSIVE_CONFIG" || err.code === "MISSIVE_AUTH") ? ExitCode.usage : ExitCode.failed;
}

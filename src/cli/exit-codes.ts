/**
 * Exit codes scripts can trust (documented in `missive --help` and
 * docs/cli.md), and the error a command throws to end with one of them.
 */

export const ExitCode = {
  /** Done. */
  ok: 0,
  /** The operation failed: a refused connection, a store error, data its contract refused, nobody bound to a type. */
  failed: 1,
  /** Bad arguments, unknown command, bad or unsupported URL, missing file, bad credentials, no contract to validate with. */
  usage: 2,
  /** `doctor` found a durability warning. */
  durabilityWarning: 3,
  /** A dead-letter entry id named no entry. */
  notFound: 4,
  /** Confirmation declined or impossible (no answer), or interrupted part-way; what was done is reported. */
  aborted: 5,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the operation failed (connection refused, store error, data refused by its contract, nobody bound to the type,
     nothing replayed or discarded of the ids found)
  2  usage or configuration error (bad arguments, unknown command, bad URL, missing file, bad credentials)
  3  doctor found a durability warning
  4  not found (a dead-letter entry id names no entry)
  5  aborted (confirmation declined or impossible, or interrupted part-way)`;

/** An error the CLI itself raises: its message is printed as is and the process ends with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
  }
}

export const usageError = (message: string): CliError => new CliError(message, ExitCode.usage);

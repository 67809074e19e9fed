/**
 * Exit codes scripts can trust (documented in `missive --help` and
 * docs/cli.md), and the error a command throws to end with one of them.
 */

export const ExitCode = {
  /** Done. */
  ok: 0,
  /** The operation failed: a refused connection, a store error, data its contract refused, nobody bound to a type. */
  failed: 1,
  /** Bad arguments, unknown command, bad or unsupported URL, a missing, empty or foreign file, bad credentials, no contract to validate with. */
  usage: 2,
  /** `doctor` found a durability warning. */
  durabilityWarning: 3,
  /** A dead-letter entry id named no entry; a group or type named by a filter or `tail` does not exist. */
  notFound: 4,
  /** Confirmation declined or impossible (no answer), or interrupted part-way; what was done is reported. */
  aborted: 5,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the operation failed (connection refused, store error, data refused by its contract, nobody bound to the type,
     nothing replayed or discarded of the ids found)
  2  usage or configuration error (bad arguments, unknown command, bad URL, a missing, empty or foreign file,
     bad credentials)
  3  doctor found a durability warning
  4  not found (a dead-letter entry id names no entry; --group/--type or a tail argument names no group or type)
  5  aborted (confirmation declined or impossible, or interrupted part-way)`;

/**
 * The `[CODE]` every failure line ends with, by exit code, for the errors the
 * CLI raises itself: a usage error is a configuration error like any other
 * (`MISSIVE_CONFIG`, as the library's), and the CLI's own outcomes have codes of
 * their own (documented in docs/cli.md) so a script can branch on one form.
 */
export const CLI_CODES: Readonly<Record<ExitCodeValue, string>> = {
  0: "MISSIVE_OK",
  1: "MISSIVE_FAILED",
  2: "MISSIVE_CONFIG",
  3: "MISSIVE_DURABILITY",
  4: "MISSIVE_NOT_FOUND",
  5: "MISSIVE_ABORTED",
};

/** An error the CLI itself raises: its message is printed as is, with its code, and the process ends with `exitCode`. */
export class CliError extends Error {
  /** The `[CODE]` printed: the cause's when it is a missive error with a code, else the exit code's. */
  readonly code: string;

  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    options?: { cause?: unknown; code?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    const cause = options?.cause as { code?: unknown } | undefined;
    this.code = options?.code ?? (typeof cause?.code === "string" && cause.code.startsWith("MISSIVE_") ? cause.code : CLI_CODES[exitCode]);
  }
}

export const usageError = (message: string): CliError => new CliError(message, ExitCode.usage);

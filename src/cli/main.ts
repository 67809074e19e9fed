#!/usr/bin/env node
/**
 * The `missive` command: queues, dead letters (ls, show, summary, replay,
 * discard, edit), tail, publish and doctor, over any transport URL.
 * docs/cli.md documents every command, its JSON shapes and the exit codes.
 */
import { buildProgram } from "./program.js";
import { reportError, scrub, secretsIn } from "./report-error.js";

async function main(argv: string[]): Promise<number> {
  const secrets = secretsIn([...argv, process.env["MISSIVE_URL"]]);
  let code = 0;
  const program = buildProgram((c) => (code = c), (text) => scrub(text, secrets));
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    return reportError(err, secrets);
  }
}

/** Exit once what was written has reached the pipe or file (a process.exit can cut a pending write short). */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const finish = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", finish);
  process.stderr.write("", finish);
}

main(process.argv.slice(2)).then(exitAfterFlush, (err: unknown) => {
  process.stderr.write(`missive: internal error: ${err instanceof Error ? err.message : String(err)} [MISSIVE_UNKNOWN]\n`);
  process.exit(1);
});

/** The command tree: global options, every command, and help that documents the exit codes. */
import { Command } from "commander";
import { MISSIVE_VERSION } from "../version.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerDlqBulk } from "./commands/dlq-bulk.js";
import { registerDlqEdit } from "./commands/dlq-edit.js";
import { registerDlqRead } from "./commands/dlq-read.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerOutboxStatus } from "./commands/outbox.js";
import { registerPublish } from "./commands/publish.js";
import { registerQueues } from "./commands/queues.js";
import { registerTail } from "./commands/tail.js";
import { registerSpool } from "./commands/spool.js";
import { registerTopology } from "./commands/topology.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { withUsageCode } from "./report-error.js";

const ABOUT = `
The transport URL comes from --url or MISSIVE_URL, e.g. sqlite://./missive.db
(the file must exist: the CLI never creates one) or amqp://user:pass@host/vhost. MISSIVE_DEBUG=1 adds stack
traces to errors. Every failure is one line on stderr: missive: <message> [MISSIVE_CODE].

${EXIT_CODES_HELP}`;

/**
 * `done(code)` receives the exit code a command ends with; a command that
 * fails throws instead (report-error.ts turns that into its code).
 */
export function buildProgram(done: (code: number) => void, scrub: (text: string) => string): Command {
  const program = new Command("missive");
  program
    .description(`missive ${MISSIVE_VERSION}: reliable messaging for Node.js, the operator's tool`)
    .version(MISSIVE_VERSION, "-V, --version")
    .option("--url <url>", "transport URL (default $MISSIVE_URL)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(scrub(withUsageCode(`missive: ${text.replace(/^error: /, "")}`))) })
    .addHelpText("after", ABOUT);

  registerQueues(program, done);
  const dlq = program
    .command("dlq")
    .description("the dead-letter store: ls, show, summary, replay, discard, edit")
    .option("--dead-letters <db-url>", "work on a database dead-letter store (postgres://… | mysql://… | sqlite://… | a SQLite path) instead of the transport's own; default $MISSIVE_DEAD_LETTERS")
    .option("--dead-letters-table <name>", "its table (default missive_dlq)")
    .addHelpText("after", `\nFilters (ls, summary, replay, discard): --group, --type, --error <MISSIVE_CODE|ErrorClass>, --id <messageId>,\n--since/--until <ISO time | 30m | 2h | 7d>.\n\n${EXIT_CODES_HELP}`);
  registerDlqRead(dlq, done);
  registerDlqBulk(dlq, done);
  registerDlqEdit(dlq, done);
  registerTail(program, done);
  registerPublish(program, done);
  registerDoctor(program, done);
  registerMigrate(program, done);
  registerOutboxStatus(program, done);
  registerTopology(program, done);
  registerSpool(program, done);
  registerDashboard(program, done);
  return program;
}

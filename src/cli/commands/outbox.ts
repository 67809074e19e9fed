/** `missive outbox status`: how far behind the relays are (docs/outbox-inbox.md). */
import type { Command } from "commander";
import { redact } from "../../redact.js";
import { DEFAULT_OUTBOX_TABLE, tableName } from "../../stores/sql/names.js";
import { dialectOf, outboxLagAt } from "../database-url.js";
import { ExitCode } from "../exit-codes.js";
import { formatAge, writeJson, writeOut } from "../output.js";
import { urlOf } from "../session.js";

/** `missive outbox status`: how far behind the relays are (unsent rows, age of the oldest). */
export function registerOutboxStatus(program: Command, done: (code: number) => void): void {
  program
    .command("outbox")
    .description("the transactional outbox on a database: `status` shows unsent rows and the age of the oldest (the relay lag)")
    .command("status")
    .description("unsent rows and the age of the oldest in an outbox table (--url postgres://… | mysql://… | sqlite://…)")
    .option("--table <name>", "outbox table name", DEFAULT_OUTBOX_TABLE)
    .option("--json", "one JSON document: {url, dialect, table, unsent, oldestAgeMs}")
    .action(async (options: { table: string; json?: boolean }, command: Command) => {
      const url = urlOf(command);
      const dialect = dialectOf(url, "outbox status");
      const table = tableName(options.table, DEFAULT_OUTBOX_TABLE, "outbox status --table");
      const lag = await outboxLagAt(url, table);
      if (options.json) writeJson({ url: redact(url), dialect, table, unsent: lag.unsent, oldestAgeMs: lag.oldestAgeMs ?? null });
      else writeOut(`${table}: ${lag.unsent} unsent${lag.oldestAgeMs === undefined ? "" : `, oldest ${formatAge(lag.oldestAgeMs)} old`}`);
      done(ExitCode.ok);
    });
}
